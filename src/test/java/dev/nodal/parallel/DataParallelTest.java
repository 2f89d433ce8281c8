package dev.nodal.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.optim.Adam;
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Schedule;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.train.GptModel;
import dev.nodal.train.ModelZoo;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Data-parallel training against one worker with the same global batch: the same loss at every
 * step (to 1e-5) and the same weights at the end (to 1e-4), on the CPU backend and on two OpenCL
 * devices; replicas that stay bitwise identical, weights and optimizer state; and slices that
 * are uneven or empty.
 */
class DataParallelTest {
  private static final int STEPS = 12;

  private static Graph mlp() {
    return ModelZoo.mlp(7, 784, 10, 48, 24);
  }

  /** Batches of {@code sizes} rows, drawn from a fixed seed: pixels in [0, 1) and class labels. */
  private static List<float[][]> batches(int... sizes) {
    SplittableRandom r = new SplittableRandom(11);
    List<float[][]> out = new ArrayList<>();
    for (int step = 0; step < STEPS; step++) {
      int n = sizes[step % sizes.length];
      float[] x = new float[n * 784], y = new float[n];
      for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
      for (int i = 0; i < n; i++) y[i] = r.nextInt(10);
      out.add(new float[][] {x, y});
    }
    return out;
  }

  /** Trains {@code s} on the batches; returns the loss of each step. */
  private static float[] train(Session s, Graph g, List<float[][]> batches, Optimizer optimizer) {
    s.setOptimizer(optimizer.schedule(new Schedule("cosine", Map.of()), batches.size()));
    float[] losses = new float[batches.size()];
    for (int i = 0; i < batches.size(); i++) {
      s.setInput((Input) g.node("x"), batches.get(i)[0]);
      s.setInput((Input) g.node("y"), batches.get(i)[1]);
      losses[i] = s.trainStep();
    }
    return losses;
  }

  private static void assertEquivalent(Backend one, Backend many, int maxBatch, List<float[][]> batches,
      Supplier<Optimizer> optimizer) {
    assertEquivalent(mlp(), one, many, maxBatch, batches, optimizer);
  }

  private static void assertEquivalent(Graph g, Backend one, Backend many, int maxBatch, List<float[][]> batches,
      Supplier<Optimizer> optimizer) {
    try (Session single = one.compile(g, maxBatch); Session parallel = many.compile(g, CompileOptions.maxBatch(maxBatch))) {
      float[] expected = train(single, g, batches, optimizer.get());
      float[] actual = train(parallel, g, batches, optimizer.get());
      for (int i = 0; i < expected.length; i++) {
        assertEquals(expected[i], actual[i], 1e-5, "loss of step " + (i + 1));
      }
      for (Param p : g.params()) {
        float[] a = single.value(p), b = parallel.value(p);
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4, p.name() + "[" + i + "]");
      }
      assertEquals(single.optimizer().step(), parallel.optimizer().step(), "the step count advances once per step");
      if (parallel instanceof DataParallelSession dp) assertReplicasAgree(g, dp);
    }
  }

  /** Weights and optimizer state of every replica, compared by digest. */
  private static void assertReplicasAgree(Graph g, DataParallelSession dp) {
    String first = null;
    for (Session s : dp.replicas()) {
      String d = digest(g, s);
      if (first == null) first = d;
      assertEquals(first, d, "replica digests");
    }
  }

  private static String digest(Graph g, Session s) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      for (Param p : g.params()) {
        update(md, s.value(p));
        for (float[] slot : s.optimizerState(p)) update(md, slot);
      }
      for (dev.nodal.graph.State st : g.states()) update(md, s.value(st));
      return HexFormat.of().formatHex(md.digest());
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  private static void update(MessageDigest md, float[] values) {
    ByteBuffer b = ByteBuffer.allocate(4 * values.length);
    b.asFloatBuffer().put(values);
    md.update(b.array());
  }

  private static DataParallelBackend cpus(int workers) {
    List<Backend> devices = new ArrayList<>();
    for (int i = 0; i < workers; i++) devices.add(Backends.cpu());
    return new DataParallelBackend(devices);
  }

  @ParameterizedTest(name = "{0} workers, batches of {1} and {2}")
  @CsvSource({"2, 64, 64", "2, 63, 17", "3, 64, 2", "4, 3, 1"})
  void workersOnTheCpuMatchOneWorkerWithTheSameGlobalBatch(int workers, int size, int last) {
    try (Backend one = Backends.cpu(); Backend many = cpus(workers)) {
      assertEquivalent(one, many, 64, batches(size, size, last), () -> Sgd.builder().learningRate(0.05f).momentum(0.9f)
          .build());
    }
  }

  /**
   * Sequences: a small GPT, whose token ids and labels are {@code [N, T]} and whose loss averages
   * over every position, split by sequences (5 of them over 2 workers: 3 and 2).
   */
  @Test
  void aGptWithSequenceLabelsMatchesOneWorker() {
    GptModel model = new GptModel(8, 1, 2, 16, 0f);
    SplittableRandom r = new SplittableRandom(5);
    List<float[][]> batches = new ArrayList<>();
    for (int step = 0; step < STEPS; step++) {
      int n = step % 3 == 2 ? 1 : 5;
      float[] x = new float[n * model.context()], y = new float[n * model.context()];
      for (int i = 0; i < x.length; i++) {
        x[i] = r.nextInt(GptModel.VOCAB);
        y[i] = r.nextInt(GptModel.VOCAB);
      }
      batches.add(new float[][] {x, y});
    }
    try (Backend one = Backends.cpu(); Backend many = cpus(2)) {
      assertEquivalent(model.build(3), one, many, 5, batches, () -> Adam.adamW().learningRate(0.003f).build());
    }
  }

  @Test
  void adamStateStaysIdenticalAcrossReplicas() {
    try (Backend one = Backends.cpu(); Backend many = cpus(2)) {
      assertEquivalent(one, many, 32, batches(32, 31), () -> Adam.adam().learningRate(0.001f).build());
    }
  }

  @Test
  void twoOpenClDevicesMatchOne() {
    try (Backend one = OpenClTests.backend();
        Backend many = new DataParallelBackend(List.of(OpenClTests.backend(), OpenClTests.backend()))) {
      assertEquivalent(one, many, 64, batches(64, 63, 5), () -> Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
    }
  }

  /** Batch norm's running statistics, which each replica updates from its own rows, are worker 0's everywhere. */
  @Test
  void batchNormStatisticsAreSharedAfterEveryUpdate() {
    dev.nodal.graph.GraphBuilder b = new dev.nodal.graph.GraphBuilder(3);
    Input x = b.input("x", 784), y = b.labels("y", 10);
    dev.nodal.graph.Node h = dev.nodal.ops.Layers.dense(b, "fc1", x, 16, dev.nodal.graph.Init.he());
    h = b.apply(new dev.nodal.ops.Relu(), "relu", dev.nodal.ops.Layers.batchNorm(b, "bn", h));
    dev.nodal.graph.Node logits = dev.nodal.ops.Layers.dense(b, "logits", h, 10, dev.nodal.graph.Init.xavier());
    Graph g = b.build(b.apply(new dev.nodal.ops.SoftmaxCrossEntropy(), "loss", logits, y));
    try (Backend many = cpus(3); Session s = many.compile(g, CompileOptions.maxBatch(16))) {
      train(s, g, batches(16, 7), Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
      DataParallelSession dp = (DataParallelSession) s;
      assertReplicasAgree(g, dp);
      assertTrue(!java.util.Arrays.equals(dp.value(g.node("bn.running_mean")), new float[16]), "the statistics moved");
    }
  }

  @Test
  void devicesOfDifferentKindsAreRefused() {
    Backend cpu = Backends.cpu(), cl = OpenClTests.backend();
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> new DataParallelBackend(List.of(cpu, cl)));
    assertTrue(e.getMessage().contains("must be of one kind"), e.getMessage());
  }

  @Test
  void valuesAndGradientsReadAsOneBatch() {
    Graph g = mlp();
    List<float[][]> b = batches(5);
    try (Backend one = Backends.cpu(); Backend many = cpus(2);
        Session single = one.compile(g, CompileOptions.maxBatch(8).keepAll());
        Session parallel = many.compile(g, CompileOptions.maxBatch(8).keepAll())) {
      for (Session s : List.of(single, parallel)) {
        s.setInput((Input) g.node("x"), b.get(0)[0]);
        s.setInput((Input) g.node("y"), b.get(0)[1]);
        s.forward();
        s.backward();
      }
      assertEquals(5, parallel.batch());
      assertEquals(single.loss(), parallel.loss(), 1e-6);
      float[] logits = single.value(g.node("logits")), split = parallel.value(g.node("logits"));
      assertEquals(logits.length, split.length);
      for (int i = 0; i < logits.length; i++) assertEquals(logits[i], split[i], 1e-5, "logits[" + i + "]");
      float[] dLogits = single.gradient(g.node("logits")), dSplit = parallel.gradient(g.node("logits"));
      for (int i = 0; i < dLogits.length; i++) assertEquals(dLogits[i], dSplit[i], 1e-7, "dlogits[" + i + "]");
      assertArrayEquals(parallel.gradients(), ((DataParallelSession) parallel).replicas().get(1).gradients(),
          "every replica holds the summed gradients");
      for (Session s : List.of(single, parallel)) {
        float[] into = new float[s.gradients().length];
        s.gradients(into);
        assertArrayEquals(s.gradients(), into, "gradients into an array are gradients()");
        var e = assertThrows(dev.nodal.graph.GraphException.class, () -> s.gradients(new float[into.length - 1]));
        assertTrue(e.getMessage().contains("gradients: an array of " + (into.length - 1) + " floats given, the "
            + "parameters' gradients take " + into.length), e.getMessage());
      }
    }
  }

  @Test
  void aBatchLargerThanTheSessionTakesIsRefused() {
    Graph g = mlp();
    try (Backend many = cpus(2); Session s = many.compile(g, CompileOptions.maxBatch(8))) {
      var e = org.junit.jupiter.api.Assertions.assertThrows(dev.nodal.graph.GraphException.class,
          () -> s.setInput((Input) g.node("x"), new float[9 * 784]));
      assertTrue(e.getMessage().contains("batch of 9 exceeds the session's maximum of 8"), e.getMessage());
    }
  }

  /** Sets {@code n} rows of the batches' first step on {@code s}. */
  private static void setBatch(Session s, Graph g, int n) {
    float[][] b = batches(n).get(0);
    s.setInput((Input) g.node("x"), b[0]);
    s.setInput((Input) g.node("y"), b[1]);
  }

  /** What {@code misuse} throws on {@code s}: its class and message. */
  private static String refusal(Session s, Consumer<Session> misuse) {
    try {
      misuse.accept(s);
    } catch (RuntimeException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
    return "not refused";
  }

  /** The rules of every session, shared: each misuse is refused as on one device, with the same message. */
  @Test
  void misusesAreRefusedAsOnOneDevice() {
    Graph g = mlp();
    Input y = (Input) g.node("y");
    Param bias = (Param) g.node("fc1.b");
    Map<String, Consumer<Session>> misuses = new LinkedHashMap<>();
    misuses.put("forward without inputs", Session::forward);
    misuses.put("forward with one input of two", s -> {
      s.setInput(y, new float[] {1, 2});
      s.forward();
    });
    misuses.put("a label out of range in the second worker's rows", s -> s.setInput(y, new float[] {0, 1, 2, 12}));
    misuses.put("backward without forward", s -> {
      setBatch(s, g, 4);
      s.backward();
    });
    misuses.put("a second backward", s -> {
      setBatch(s, g, 4);
      s.forward();
      s.backward();
      s.backward();
    });
    misuses.put("backward after setParam", s -> {
      setBatch(s, g, 4);
      s.forward();
      s.setParam(bias, new float[bias.shape().exampleSize()]);
      s.backward();
    });
    misuses.put("backward after an evaluation forward", s -> {
      setBatch(s, g, 4);
      s.setTraining(false);
      s.forward();
      s.backward();
    });
    misuses.put("loss without forward", s -> {
      setBatch(s, g, 4);
      s.loss();
    });
    misuses.put("update without optimizer", s -> {
      setBatch(s, g, 4);
      s.forward();
      s.backward();
      s.update();
    });
    misuses.put("a second update", s -> {
      s.setOptimizer(new Sgd(0.1f));
      setBatch(s, g, 4);
      s.trainStep();
      s.update();
    });
    misuses.put("gradients without backward", Session::gradients);
    misuses.put("gradients into an array without backward", s -> s.gradients(new float[1]));
    misuses.put("setGradients without backward", s -> s.setGradients(new float[1]));
    misuses.put("gradient without backward", s -> s.gradient(bias));
    misuses.put("a value that is not kept", s -> s.value(g.node("fc1")));
    misuses.put("a value of another graph", s -> s.value(mlp().node("logits")));
    misuses.put("a null input", s -> s.setInput(null, new float[784]));
    misuses.put("a param of the wrong size", s -> s.setParam(bias, new float[bias.shape().exampleSize() - 1]));
    misuses.put("optimizer state without optimizer", s -> s.optimizerState(bias));
    misuses.put("use after close", s -> {
      s.close();
      s.forward();
    });
    try (Backend one = Backends.cpu(); Backend many = cpus(2)) {
      for (var m : misuses.entrySet()) {
        String single, parallel;
        try (Session s = one.compile(g, CompileOptions.maxBatch(8))) {
          single = refusal(s, m.getValue());
        }
        try (Session s = many.compile(g, CompileOptions.maxBatch(8))) {
          parallel = refusal(s, m.getValue());
        }
        assertTrue(!single.equals("not refused"), m.getKey());
        assertEquals(single, parallel, m.getKey());
      }
    }
  }

  /** Inputs read as last set, gradients as the last backward left them, even after a forward of another batch. */
  @Test
  void readsDescribeTheCallThatMadeThem() {
    Graph g = mlp();
    try (Backend one = Backends.cpu(); Backend many = cpus(2);
        Session single = one.compile(g, CompileOptions.maxBatch(8).keepAll());
        Session parallel = many.compile(g, CompileOptions.maxBatch(8).keepAll())) {
      for (Session s : List.of(single, parallel)) {
        setBatch(s, g, 5);
        s.forward();
        s.backward();
        setBatch(s, g, 3);
      }
      assertArrayEquals(single.value(g.node("x")), parallel.value(g.node("x")), "the input as set last, before a forward");
      for (Session s : List.of(single, parallel)) s.forward();
      float[] dLogits = single.gradient(g.node("logits")), dSplit = parallel.gradient(g.node("logits"));
      assertEquals(dLogits.length, dSplit.length, "the gradient of the last backward, of 5 rows");
      for (int i = 0; i < dLogits.length; i++) assertEquals(dLogits[i], dSplit[i], 1e-7, "dlogits[" + i + "]");
    }
  }

  /**
   * A replica of {@code real} that runs {@code before} ahead of each call named {@code method},
   * which may throw or wait.
   */
  private static Session replica(Session real, String method, Runnable before) {
    return (Session) Proxy.newProxyInstance(Session.class.getClassLoader(), new Class<?>[] {Session.class},
        (proxy, m, args) -> {
          if (m.getName().equals(method)) before.run();
          try {
            return m.invoke(real, args);
          } catch (InvocationTargetException e) {
            throw e.getCause();
          }
        });
  }

  /** Two replicas of {@code g} on the CPU, the first behind {@link #replica}. */
  private static DataParallelSession twoWorkers(Backend cpu, Graph g, String method, Runnable before,
      List<Collective> collectives) {
    List<Session> replicas = List.of(replica(cpu.compile(g, 4), method, before), cpu.compile(g, 4));
    return new DataParallelSession(g, CompileOptions.maxBatch(8), replicas, collectives);
  }

  @Test
  void aSecondThreadIsRefusedWhileOneIsInside() throws Exception {
    Graph g = mlp();
    CountDownLatch inside = new CountDownLatch(1), release = new CountDownLatch(1);
    try (Backend cpu = Backends.cpu(); DataParallelSession s = twoWorkers(cpu, g, "forward", () -> {
      inside.countDown();
      try {
        release.await();
      } catch (InterruptedException e) {
        throw new IllegalStateException(e);
      }
    }, ThreadCollective.group(2, DataParallelBackend.TIMEOUT))) {
      setBatch(s, g, 4);
      Thread first = new Thread(s::forward, "first");
      first.start();
      inside.await();
      IllegalStateException e = assertThrows(IllegalStateException.class, () -> s.setInput((Input) g.node("y"), new float[] {1}));
      release.countDown();
      first.join();
      assertTrue(e.getMessage().startsWith("data-parallel session over [") && e.getMessage().contains("'first'")
          && e.getMessage().contains("'" + Thread.currentThread().getName() + "'")
          && e.getMessage().contains("setInput() from thread"), e.getMessage());
      s.backward(); // the forward of the first thread was served
    }
  }

  @Test
  void aFailedReplicaFailsTheSession() {
    Graph g = mlp();
    try (Backend cpu = Backends.cpu(); DataParallelSession s = twoWorkers(cpu, g, "forward", () -> {
      throw new IllegalStateException("the device fell off the bus");
    }, ThreadCollective.group(2, DataParallelBackend.TIMEOUT))) {
      setBatch(s, g, 4);
      assertEquals("the device fell off the bus", assertThrows(IllegalStateException.class, s::forward).getMessage());
      assertEquals("this session failed (the device fell off the bus); close it and compile the graph again",
          assertThrows(IllegalStateException.class, () -> setBatch(s, g, 4)).getMessage());
    }
  }

  @Test
  void aFailedSumFailsTheSession() {
    Graph g = mlp();
    List<Collective> collectives = ThreadCollective.group(2, DataParallelBackend.TIMEOUT);
    try (Backend cpu = Backends.cpu(); DataParallelSession s = twoWorkers(cpu, g, "setGradients", () -> {
      throw new dev.nodal.graph.GraphException("refused at the sum");
    }, collectives)) {
      setBatch(s, g, 4);
      s.forward();
      assertThrows(RuntimeException.class, s::backward);
      IllegalStateException e = assertThrows(IllegalStateException.class, s::forward);
      assertTrue(e.getMessage().startsWith("this session failed ("), e.getMessage());
    }
  }

  /** A part that fails to close leaves none of the others open; the first failure is thrown, the others suppressed. */
  @Test
  void closeClosesEveryPartAndReportsEveryFailure() {
    Graph g = mlp();
    List<Collective> closed = new ArrayList<>();
    List<Collective> collectives = new ArrayList<>();
    for (Collective c : ThreadCollective.group(2, DataParallelBackend.TIMEOUT)) {
      collectives.add(new Collective() {
        @Override
        public int rank() {
          return c.rank();
        }

        @Override
        public int size() {
          return c.size();
        }

        @Override
        public void allReduceSum(float[] data, int offset, int length) {
          c.allReduceSum(data, offset, length);
        }

        @Override
        public void broadcast(float[] data, int offset, int length, int root) {
          c.broadcast(data, offset, length, root);
        }

        @Override
        public void barrier() {
          c.barrier();
        }

        @Override
        public void close() {
          c.close();
          closed.add(c);
          throw new CollectiveException("collective " + c.rank() + " did not close");
        }
      });
    }
    try (Backend cpu = Backends.cpu()) {
      DataParallelSession s = twoWorkers(cpu, g, "close", () -> {
        throw new IllegalStateException("replica 0 did not close");
      }, collectives);
      IllegalStateException e = assertThrows(IllegalStateException.class, s::close);
      assertEquals("replica 0 did not close", e.getMessage());
      assertEquals(List.of("collective 0 did not close", "collective 1 did not close"),
          Arrays.stream(e.getSuppressed()).map(Throwable::getMessage).toList());
      assertEquals(2, closed.size(), "every collective was closed");
      assertEquals("this session is closed", assertThrows(IllegalStateException.class,
          () -> s.replicas().get(1).forward()).getMessage(), "the other replica was closed");
      s.close(); // a second close does nothing
    }
  }
}
