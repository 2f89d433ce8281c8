package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.backend.cpu.CpuBackend;
import dev.nodal.devices.Backends;
import dev.nodal.devices.NodalOptions;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.optim.Sgd;
import dev.nodal.plan.Launch;
import dev.nodal.plan.Planner;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuOptions;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.train.ModelZoo;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * Settings belong to a backend, not to the process: two backends with different options, in one
 * JVM and without any environment variable, each run by their own. On the CPU, one multiplies on
 * the Vector API and one on plain loops; on OpenCL, one tiles every product as a {@code NODAL_GEMM}
 * override says and one chooses its own tiles. Each pair trains the same model step by step,
 * interleaved, and agrees to rounding; each CPU backend gives the very bits it gives alone.
 */
class OptionsPerBackendTest {
  private static final int BATCH = 16, STEPS = 6;

  @Test
  void twoCpuBackendsMultiplyEachWithItsOwnKernel() {
    Assumptions.assumeTrue(CpuContext.vectorModulePresent(), "the Vector API needs --add-modules jdk.incubator.vector");
    Graph g = ModelZoo.cnn(5, 16 * 16, 10, false);
    CpuOptions vector = CpuOptions.defaults(), plain = CpuOptions.defaults().withVectorApi(false);
    float[][] alone = new float[2][];
    for (int i = 0; i < 2; i++) {
      try (CpuBackend b = new CpuBackend(i == 0 ? vector : plain); Session s = b.compile(g, BATCH)) {
        alone[i] = train(g, s);
      }
    }
    try (CpuBackend v = (CpuBackend) Backends.cpu(vector); CpuBackend p = (CpuBackend) Backends.cpu(plain);
        Session sv = v.compile(g, BATCH); Session sp = p.compile(g, BATCH)) {
      assertTrue(v.gemmKernel().startsWith("Vector API, "), v.gemmKernel());
      assertEquals("plain Java loops", p.gemmKernel());
      assertEquals(vector, v.options());
      assertEquals(plain, p.options());
      float[][] together = trainTogether(g, sv, sp);
      assertArrayEquals(alone[0], together[0], "the Vector API backend, beside the other, gives the bits it gives alone");
      assertArrayEquals(alone[1], together[1], "the plain backend, beside the other, gives the bits it gives alone");
      assertClose(together[0], together[1], 1e-4, "Vector API and plain loops");
      assertTrue(!java.util.Arrays.equals(together[0], together[1]),
          "the two kernels sum in different orders, so a whole cnn's run does not agree to the last bit");
    }
  }

  @Test
  void twoOpenClBackendsTileProductsEachByItsOwnOptions() {
    String selector = OpenClTests.selector(); // skips, or fails with NODAL_REQUIRE_OPENCL=1, without OpenCL
    String tiles = "16,16,8,2,2";
    OpenClOptions own = OpenClOptions.defaults().withTuningCache(null); // no user's tuning cache either
    OpenClOptions forced = own.withGemmTiles(tiles);
    Graph g = ModelZoo.mlp(3, 64, 10, 48);
    try (OpenClBackend chosen = (OpenClBackend) Backends.open(selector, NodalOptions.defaults().withOpenCl(own));
        OpenClBackend overridden = (OpenClBackend) Backends.open(selector, NodalOptions.defaults().withOpenCl(forced))) {
      GemmConfig override = GemmConfig.parse(tiles);
      Assumptions.assumeTrue(override.misfit(chosen.device().maxWorkGroupSize(), chosen.device().localMemory()) == null,
          "the override fits " + chosen.name());
      assertEquals(override, overridden.gemm().override());
      assertNull(chosen.gemm().override());
      assertEquals(forced, overridden.options());
      Set<String> forcedDefines = productDefines(overridden, g), ownDefines = productDefines(chosen, g);
      assertEquals(Set.of(override.defines()), forcedDefines, "every product of the overridden backend has its tiles");
      assertTrue(!ownDefines.isEmpty() && !ownDefines.equals(forcedDefines),
          "the other backend chooses its own tiles: " + ownDefines);
      try (Session a = chosen.compile(g, BATCH); Session b = overridden.compile(g, BATCH)) {
        float[][] both = trainTogether(g, a, b);
        assertClose(both[0], both[1], 1e-4, "own tiles and forced tiles");
      }
    }
  }

  /** The tiles ({@code -D} defines) of every product in a training step of {@code g} as {@code backend} lowers it. */
  private static Set<String> productDefines(OpenClBackend backend, Graph g) {
    Planner planner = new Planner(g, BATCH, CompileOptions.maxBatch(BATCH).keepRule(), backend.traits());
    var steps = planner.steps(BATCH, true);
    List<Launch> all = new ArrayList<>(steps.forward());
    all.addAll(steps.backward());
    Set<String> out = new HashSet<>();
    for (Launch l : all) {
      if (l instanceof Launch.Product) out.add(backend.lowering.lower(l).defines());
    }
    return out;
  }

  /** Both sessions trained step by step, interleaved; each one's losses then parameters. */
  private static float[][] trainTogether(Graph g, Session a, Session b) {
    List<Float> la = new ArrayList<>(), lb = new ArrayList<>();
    a.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
    b.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
    Input x = (Input) g.node("x"), y = (Input) g.node("y");
    int features = x.shape().exampleSize();
    for (int step = 0; step < STEPS; step++) {
      for (Session s : new Session[] {a, b}) {
        s.setInput(x, batch(features, step));
        s.setInput(y, labels(step));
      }
      la.add(a.trainStep());
      lb.add(b.trainStep());
    }
    return new float[][] {flatten(g, a, la), flatten(g, b, lb)};
  }

  /** One session trained alone, as {@link #trainTogether} trains each. */
  private static float[] train(Graph g, Session s) {
    List<Float> losses = new ArrayList<>();
    s.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
    Input x = (Input) g.node("x"), y = (Input) g.node("y");
    int features = x.shape().exampleSize();
    for (int step = 0; step < STEPS; step++) {
      s.setInput(x, batch(features, step));
      s.setInput(y, labels(step));
      losses.add(s.trainStep());
    }
    return flatten(g, s, losses);
  }

  private static float[] flatten(Graph g, Session s, List<Float> losses) {
    List<Float> out = new ArrayList<>(losses);
    for (Param p : g.params()) for (float v : s.value(p)) out.add(v);
    float[] a = new float[out.size()];
    for (int i = 0; i < a.length; i++) a[i] = out.get(i);
    return a;
  }

  private static float[] batch(int features, int step) {
    java.util.SplittableRandom r = new java.util.SplittableRandom(100 + step);
    float[] v = new float[BATCH * features];
    for (int i = 0; i < v.length; i++) v[i] = (float) r.nextDouble();
    return v;
  }

  private static float[] labels(int step) {
    float[] v = new float[BATCH];
    for (int i = 0; i < BATCH; i++) v[i] = (i * 7 + step) % 10;
    return v;
  }

  /** Every value within {@code rtol} of the largest magnitude of its kind (losses, then parameters). */
  private static void assertClose(float[] a, float[] b, double rtol, String what) {
    assertEquals(a.length, b.length, what);
    double maxRef = 0, maxDiff = 0;
    for (int i = 0; i < a.length; i++) {
      maxRef = Math.max(maxRef, Math.abs(b[i]));
      maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    }
    assertTrue(maxDiff <= rtol * Math.max(1, maxRef), what + ": differ by " + maxDiff + " (largest value " + maxRef + ")");
  }
}
