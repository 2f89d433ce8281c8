package dev.nodal.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Adam;
import dev.nodal.tensor.CpuOptions;
import dev.nodal.train.ModelZoo;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/**
 * The CPU backend allocates no buffer inside a training step once warm, on the Vector API and on
 * plain loops alike: the products' packing panels and the convolutions' patches, gradients and
 * partial sums are kept per thread by the backend's context and reused. Measured as what every
 * thread of the JVM allocates over the steps (the convolutions and large products run on the
 * common fork-join pool), against a bound that the parallel loops' few small objects stay under
 * and one patch matrix kept or made per step does not.
 */
class CpuAllocationTest {
  /**
   * Warm-up long enough for the JIT to compile every Vector API loop: until then each vector is an
   * object (5 steps left the activations' derivative interpreted, 2.7 MB a step).
   */
  private static final int BATCH = 16, WARM_UP = 30, STEPS = 40;
  /**
   * The fork-join tasks and lambdas of a step's parallel loops take a few KiB; one patch matrix of
   * the second convolution alone is 32·9 × 14·14 floats (226 KiB).
   */
  private static final long BYTES_PER_STEP = 32 << 10;

  @Test
  void warmStepsAllocateNoBuffers() {
    var threads = ManagementFactory.getThreadMXBean();
    Assumptions.assumeTrue(threads instanceof com.sun.management.ThreadMXBean t && t.isThreadAllocatedMemorySupported()
        && t.isThreadAllocatedMemoryEnabled(), "this JVM does not count allocated bytes per thread");
    Graph g = ModelZoo.cnn(2, 28 * 28, 10, false);
    Input x = (Input) g.node("x"), y = (Input) g.node("y");
    float[][] xs = new float[4][BATCH * 28 * 28], ys = new float[4][BATCH];
    SplittableRandom r = new SplittableRandom(4);
    for (int i = 0; i < 4; i++) {
      for (int e = 0; e < xs[i].length; e++) xs[i][e] = (float) r.nextDouble();
      for (int e = 0; e < BATCH; e++) ys[i][e] = r.nextInt(10);
    }
    for (CpuOptions options : new CpuOptions[] {CpuOptions.defaults(), CpuOptions.defaults().withVectorApi(false)}) {
      try (CpuBackend backend = new CpuBackend(options); Session s = backend.compile(g, BATCH)) {
        s.setOptimizer(Adam.adam().learningRate(1e-3f).build());
        for (int step = 0; step < WARM_UP; step++) step(s, x, y, xs[step % 4], ys[step % 4]);
        long before = allocated();
        for (int step = 0; step < STEPS; step++) step(s, x, y, xs[step % 4], ys[step % 4]);
        long perStep = (allocated() - before) / STEPS;
        System.out.printf(Locale.ROOT, "CPU step of the cnn at batch %d on %s: %d bytes allocated per step%n", BATCH,
            backend.gemmKernel(), perStep);
        assertTrue(perStep <= BYTES_PER_STEP, backend.gemmKernel() + ": " + perStep + " bytes allocated per step, at most "
            + BYTES_PER_STEP + " expected");
      }
    }
  }

  private static void step(Session s, Input x, Input y, float[] xs, float[] ys) {
    s.setInput(x, xs);
    s.setInput(y, ys);
    float loss = s.trainStep();
    if (!Float.isFinite(loss)) fail("loss " + loss);
  }

  /** Bytes allocated so far by every live thread of the JVM. */
  private static long allocated() {
    var threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long sum = 0;
    for (long b : threads.getThreadAllocatedBytes(threads.getAllThreadIds())) if (b > 0) sum += b;
    return sum;
  }
}
