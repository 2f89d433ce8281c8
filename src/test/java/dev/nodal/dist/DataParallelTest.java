package dev.nodal.dist;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import dev.nodal.train.ModelZoo;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
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
    Graph g = mlp();
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
}
