package dev.nodal.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.train.ModelZoo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Gradients summed while backward runs: the CPU backend tells each parameter once, during the
 * pass, last used first; bucket by bucket, the sums are those of {@link Collective} over each
 * bucket's range, on the ring and on threads; and a worker whose backward fails fails the others
 * at once.
 */
class BucketedSumTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);

  private static Graph mlp() {
    return ModelZoo.mlp(7, 784, 10, 48, 24);
  }

  /** A forward on rows drawn from {@code seed}, ready for a backward. */
  private static Session ready(Backend cpu, Graph g, long seed) {
    Session s = cpu.compile(g, 5);
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[5 * 784], y = new float[5];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
    for (int i = 0; i < y.length; i++) y[i] = r.nextInt(10);
    s.setInput((Input) g.node("x"), x);
    s.setInput((Input) g.node("y"), y);
    s.forward();
    return s;
  }

  @Test
  void theCpuBackendTellsEachParameterOnceDuringThePassLastUsedFirst() {
    Graph g = mlp();
    try (Backend cpu = Backends.cpu(); Session s = ready(cpu, g, 1)) {
      List<Param> told = new ArrayList<>();
      List<float[]> values = new ArrayList<>();
      s.backward((p, gradient, from) -> {
        told.add(p);
        values.add(Arrays.copyOfRange(gradient, from, from + p.shape().exampleSize()));
      });
      // A dense layer is one node of weights and bias: the last layer's are final first.
      assertEquals(List.of("logits.W", "logits.b", "fc2.W", "fc2.b", "fc1.W", "fc1.b"),
          told.stream().map(Param::name).toList());
      float[] packed = s.gradients();
      int at = 0;
      for (Param p : g.params()) {
        int n = p.shape().exampleSize();
        assertArrayEquals(Arrays.copyOfRange(packed, at, at + n), values.get(told.indexOf(p)), p.name());
        at += n;
      }
    }
  }

  @ParameterizedTest(name = "{0}, {1} ranks")
  @CsvSource({"ring, 2", "ring, 3", "threads, 2", "threads, 3"})
  void eachBucketIsSummedAsTheCollectiveSumsItsRange(String kind, int size) throws Exception {
    Graph g = mlp();
    int bucket = 1000, extra = 2;
    float scale = 0.25f;
    try (Backend cpu = Backends.cpu()) {
      // What each rank adds: its gradients times the scale, then its extra floats.
      float[][] inputs = new float[size][];
      for (int r = 0; r < size; r++) {
        try (Session s = ready(cpu, g, 10 + r)) {
          s.backward();
          float[] grads = s.gradients();
          inputs[r] = Arrays.copyOf(grads, grads.length + extra);
          for (int i = 0; i < grads.length; i++) inputs[r][i] = grads[i] * scale;
          inputs[r][grads.length] = r + 1;
          inputs[r][grads.length + 1] = 10f * r;
        }
      }
      List<float[]> results = CollectiveTest.onEveryRank(CollectiveTest.make(kind, size), c -> {
        try (Session s = ready(cpu, g, 10 + c.rank()); BucketedSum sum = new BucketedSum(g, c, extra, bucket)) {
          // Whole parameters, cut from the end: [fc1.W], [fc1.b], [fc2.W], [fc2.b, logits.W, logits.b] and the extras.
          assertEquals(4, sum.buckets());
          int params = sum.packed().length - extra;
          sum.packed()[params] = c.rank() + 1;
          sum.packed()[params + 1] = 10f * c.rank();
          sum.backward(s, scale, false);
          return sum.packed().clone();
        }
      });
      float[] expected = new float[inputs[0].length];
      try (BucketedSum layout = new BucketedSum(g, Collective.single(), extra, bucket)) {
        for (int b = 0; b < layout.buckets(); b++) {
          int from = layout.bucketStart(b), length = layout.bucketStart(b + 1) - from;
          for (int j = 0; j < size; j++) {
            for (int i = Collective.segmentStart(length, size, j); i < Collective.segmentStart(length, size, j + 1); i++) {
              float total = inputs[(j + 1) % size][from + i];
              for (int k = 2; k <= size; k++) total += inputs[(j + k) % size][from + i];
              expected[from + i] = total;
            }
          }
        }
      }
      if (size == 2) {
        for (int i = 0; i < expected.length; i++) assertEquals(inputs[0][i] + inputs[1][i], expected[i], 0f, "serial");
      }
      for (int r = 0; r < size; r++) assertArrayEquals(expected, results.get(r), kind + " rank " + r);
    }
  }

  @Test
  void aWorkerWithoutRowsAddsZeros() throws Exception {
    Graph g = mlp();
    try (Backend cpu = Backends.cpu()) {
      List<float[]> results = CollectiveTest.onEveryRank(ThreadCollective.group(2, TIMEOUT), c -> {
        try (Session s = ready(cpu, g, 3); BucketedSum sum = new BucketedSum(g, c, 0, 4096)) {
          sum.backward(s, 1f, c.rank() == 1);
          return sum.packed().clone();
        }
      });
      try (Session s = ready(cpu, g, 3)) {
        s.backward();
        assertArrayEquals(s.gradients(), results.get(0));
        assertArrayEquals(s.gradients(), results.get(1));
      }
    }
  }

  @Test
  void aBackwardThatFailsFailsTheOtherWorkersAtOnce() throws Exception {
    Graph g = mlp();
    List<Collective> group = ThreadCollective.group(2, TIMEOUT);
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (Backend cpu = Backends.cpu(); Session good = ready(cpu, g, 4); Session bad = ready(cpu, g, 5);
        BucketedSum first = new BucketedSum(g, group.get(0), 0, 1000);
        BucketedSum second = new BucketedSum(g, group.get(1), 0, 1000)) {
      long t0 = System.nanoTime();
      Future<?> zero = pool.submit(() -> first.backward(good, 1f, false));
      Future<?> one = pool.submit(() -> second.backward(telling(bad, (ready, p, array, from) -> {
        ready.ready(p, array, from);
        throw new IllegalStateException("backward broke");
      }), 1f, false));
      ExecutionException e1 = assertThrows(ExecutionException.class, one::get);
      assertEquals("backward broke", e1.getCause().getMessage());
      ExecutionException e0 = assertThrows(ExecutionException.class, zero::get);
      assertTrue(e0.getCause() instanceof CollectiveException, String.valueOf(e0.getCause()));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms < TIMEOUT.toMillis() / 2, "the other worker failed after " + ms + " ms, not at once");
    } finally {
      pool.shutdownNow();
      for (Collective c : group) c.close();
    }
  }

  @Test
  void aBackwardThatLeavesOutOrRepeatsAParameterIsRefused() {
    Graph g = mlp();
    try (Backend cpu = Backends.cpu(); Session s = ready(cpu, g, 6);
        BucketedSum sum = new BucketedSum(g, Collective.single(), 0, 1000)) {
      IllegalStateException left = assertThrows(IllegalStateException.class, () -> sum.backward(telling(s,
          (ready, p, array, from) -> {
            if (!p.name().equals("fc2.b")) ready.ready(p, array, from);
          }), 1f, false));
      assertEquals("the backward returned without telling the gradient of parameter 'fc2.b': its bucket cannot be summed",
          left.getMessage());
    }
    try (Backend cpu = Backends.cpu(); Session s = ready(cpu, g, 6);
        BucketedSum sum = new BucketedSum(g, Collective.single(), 0, 1000)) {
      IllegalStateException twice = assertThrows(IllegalStateException.class, () -> sum.backward(telling(s,
          (ready, p, array, from) -> {
            ready.ready(p, array, from);
            if (p.name().equals("logits.b")) ready.ready(p, array, from);
          }), 1f, false));
      assertEquals("the backward told the gradient of parameter 'logits.b' twice", twice.getMessage());
    }
  }

  /** How a stand-in session passes on each tell of the real one's backward. */
  private interface Relay {
    void tell(Session.GradientReady ready, Param p, float[] array, int from);
  }

  /** {@code s}, whose {@code backward(ready)} passes each tell through {@code relay}. */
  private static Session telling(Session s, Relay relay) {
    return (Session) java.lang.reflect.Proxy.newProxyInstance(Session.class.getClassLoader(), new Class<?>[] {Session.class},
        (proxy, method, args) -> {
          if (method.getName().equals("backward") && args != null && args.length == 1) {
            Session.GradientReady ready = (Session.GradientReady) args[0];
            s.backward((p, array, from) -> relay.tell(ready, p, array, from));
            return null;
          }
          try {
            return method.invoke(s, args);
          } catch (java.lang.reflect.InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }
}
