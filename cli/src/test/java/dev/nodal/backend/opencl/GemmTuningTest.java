package dev.nodal.backend.opencl;

import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.CL_TRUE;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clEnqueueNDRangeKernel;
import static org.jocl.CL.clEnqueueReadBuffer;
import static org.jocl.CL.clReleaseKernel;
import static org.jocl.CL.clReleaseMemObject;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.cli.Main;
import dev.nodal.plan.Keep;
import dev.nodal.plan.Launch;
import dev.nodal.plan.Planner;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.train.ModelZoo;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.Set;
import org.jocl.Pointer;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every tiling that tuning may pick computes the right product on the device, at sizes that no
 * tile divides; {@code nodal tune} writes a cache entry per shape class for the device; and a plan
 * for a device with tuned tiles uses them.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GemmTuningTest {
  private OpenClBackend backend;
  @TempDir Path dir;

  @BeforeAll
  void open() {
    backend = (OpenClBackend) OpenClTests.backend();
  }

  @AfterAll
  void close() {
    if (backend != null) backend.close();
  }

  /**
   * Every tiling of the search space and each of its variants (vector loads, double buffering),
   * with A and B each plain or transposed, at sizes that no tile or load width divides. A tiling
   * whose kernel this device runs only in smaller work-groups (CL_KERNEL_WORK_GROUP_SIZE, which
   * the compiler may lower below the device's maximum) is skipped and counted, as sessions refuse
   * it and tuning passes over it.
   */
  @Test
  void everyTilingOfTheSearchSpaceComputesTheProduct() {
    int m = 37, n = 45, k = 29, batches = 2;
    SplittableRandom r = new SplittableRandom(5);
    float[] a = new float[batches * m * k], b = new float[batches * k * n];
    for (int i = 0; i < a.length; i++) a[i] = (float) r.nextDouble(-1, 1);
    for (int i = 0; i < b.length; i++) b[i] = (float) r.nextDouble(-1, 1);
    double[] expected = new double[batches * m * n];
    for (int e = 0; e < batches; e++) {
      for (int i = 0; i < m; i++) {
        for (int j = 0; j < n; j++) {
          double sum = 0;
          for (int p = 0; p < k; p++) sum += (double) a[e * m * k + i * k + p] * b[e * k * n + p * n + j];
          expected[(e * m + i) * n + j] = sum;
        }
      }
    }
    // The space's size on a device with 256 work-items and 48 KiB of local memory; this device's
    // own limits may leave fewer.
    GemmDevice typical = new GemmDevice("typical", 256, 16, 48 << 10, null, Map.of());
    assertTrue(GemmConfig.searchSpace(typical).size() >= 12, "a few dozen tilings at most, a dozen at least: "
        + GemmConfig.searchSpace(typical).size());
    GemmDevice device = backend.gemm();
    List<GemmConfig> space = GemmConfig.searchSpace(device);
    assertFalse(space.isEmpty(), "no tiling fits " + device);
    List<GemmConfig> all = new java.util.ArrayList<>(space);
    for (GemmConfig c : space) all.addAll(c.variants(device));
    for (GemmConfig c : space.subList(0, Math.min(3, space.size()))) {
      // 2-wide loads, which tuning does not try but NODAL_GEMM may ask for
      for (boolean db : new boolean[] {false, true}) {
        GemmConfig two = new GemmConfig(c.tileM(), c.tileN(), c.tileK(), c.wptM(), c.wptN(), 2, db);
        if (two.localBytes() <= device.localMemory()) all.add(two);
      }
    }
    assertTrue(all.stream().anyMatch(c -> c.vec() == 4 && c.doubleBuffer()), "variants with both");
    java.util.Set<String> skipped = new java.util.TreeSet<>();
    int ran = 0;
    for (int layout = 0; layout < 4; layout++) {
      boolean ta = (layout & 1) != 0, tb = (layout & 2) != 0;
      // Stored transposed: A as K×M per member, B as N×K; the product is the same.
      float[] as = ta ? transpose(a, batches, m, k) : a, bs = tb ? transpose(b, batches, k, n) : b;
      for (GemmConfig c : all) {
        float[] got = run(c, as, bs, ta, tb, m, n, k, batches);
        if (got == null) {
          skipped.add(c.text());
          continue;
        }
        ran++;
        for (int i = 0; i < got.length; i++) {
          assertEquals(expected[i], got[i], 1e-4, c.text() + " transA " + ta + " transB " + tb + ", element " + i);
        }
      }
    }
    System.out.printf("%d tilings on %s, in 4 layouts: %d launches checked; %d tilings skipped, whose kernel runs "
        + "in smaller work-groups here%s%n", all.size(), backend.name(), ran, skipped.size(),
        skipped.isEmpty() ? "" : ": " + skipped);
    assertTrue(ran > 0, "this device runs none of the tilings: " + skipped);
  }

  /** Each member's rows × cols matrix, stored cols × rows. */
  private static float[] transpose(float[] x, int batches, int rows, int cols) {
    float[] t = new float[x.length];
    for (int e = 0; e < batches; e++) {
      for (int i = 0; i < rows; i++) {
        for (int j = 0; j < cols; j++) t[e * rows * cols + j * rows + i] = x[e * rows * cols + i * cols + j];
      }
    }
    return t;
  }

  /**
   * C = A·B on the device with tiling {@code c}; null when the kernel's work-group limit is below
   * the tiling's work-group, which {@link Replay#checkGroupSize} would refuse in a session.
   */
  private float[] run(GemmConfig c, float[] a, float[] b, boolean ta, boolean tb, int m, int n, int k, int batches) {
    cl_kernel kernel = clCreateKernel(backend.programs.get("gemm.cl", c.defines()), "gemm", null);
    try {
      Replay.checkGroupSize(backend, kernel, (long) c.threadsM() * c.threadsN(), "gemm.cl with " + c.defines());
    } catch (IllegalStateException tooLarge) {
      clReleaseKernel(kernel);
      return null;
    }
    cl_mem da = clCreateBuffer(backend.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * a.length, Pointer.to(a), null);
    cl_mem db = clCreateBuffer(backend.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, 4L * b.length, Pointer.to(b), null);
    cl_mem dc = clCreateBuffer(backend.context, CL_MEM_READ_WRITE, 4L * batches * m * n, null, null);
    try {
      GemmTuner.setPlainArgs(kernel, m, n, k, batches, da, ta, db, tb, dc);
      clEnqueueNDRangeKernel(backend.queue, kernel, 3, null, c.globalSize(m, n, batches), c.localSize(), 0, null, null);
      float[] out = new float[batches * m * n];
      clEnqueueReadBuffer(backend.queue, dc, CL_TRUE, 0, 4L * out.length, Pointer.to(out), 0, null, null);
      return out;
    } finally {
      clReleaseKernel(kernel);
      for (cl_mem x : new cl_mem[] {da, db, dc}) clReleaseMemObject(x);
    }
  }

  @Test
  void tuneWritesTheFastestTilesPerShapeClassAndPlansUseThem() throws Exception {
    Path cache = dir.resolve("gemm-tuning.json");
    PrintStream saved = System.out;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.run("tune", "--device", OpenClTests.selector(), "--model", "mlp", "--batch-size", "8",
          "--max-candidates", "2", "--repeats", "1", "--cache", cache.toString());
    } finally {
      System.setOut(saved);
    }
    String printed = out.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, printed);
    assertTrue(printed.contains("speed-up") && printed.contains("wrote " + cache), printed);
    Map<String, GemmConfig> tuned = GemmTuner.load(cache, backend.device());
    assertFalse(tuned.isEmpty(), Files.readString(cache));
    assertTrue(tuned.containsKey(GemmConfig.shapeClass(8, 256, 784, 1)), "the first layer's class: " + tuned.keySet());

    // A plan for the device with these tiles uses them for that class, whatever they are. The
    // device's traits are taken without $NODAL_GEMM, whose tiles would override the tuned ones,
    // and without the user's tuning cache.
    GemmDevice gemm = OpenClBackend.gemm(backend.device(), null, null);
    GemmConfig pinned = new GemmConfig(32, 64, 16, 4, 4);
    Map<String, GemmConfig> map = Map.of(GemmConfig.shapeClass(8, 256, 784, 1), pinned);
    Planner planner = new Planner(ModelZoo.mlp(1, 784, 10, 256, 128), 8, new Keep(false, Set.of()),
        OpenClBackend.traits(backend.device()));
    Launch first = planner.steps(8, true).forward().stream().filter(Launch.Product.class::isInstance).findFirst()
        .orElseThrow();
    ClLaunch lowered = new Lowering(backend.device().maxWorkGroupSize(), gemm.withTuned(map), KernelSources::source)
        .lower(first);
    assertEquals(pinned.defines(), lowered.defines());
    assertTrue(GemmConfig.candidates(gemm.withTuned(map)).contains(pinned), "built ahead of any step");
  }

  @Test
  void anUnreadableCacheIsIgnoredWithAWarning() throws Exception {
    Path cache = dir.resolve("broken.json");
    Files.writeString(cache, "{ not json");
    assertTrue(GemmTuner.load(cache, backend.device()).isEmpty());
  }
}
