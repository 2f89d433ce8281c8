package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.nodal.backend.Session;
import dev.nodal.backend.Stats;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Adam;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import java.lang.management.ManagementFactory;
import java.util.Locale;
import org.junit.jupiter.api.Test;

/**
 * A long run on OpenCL: 10,000 training steps, with the number of live device buffers constant
 * through them and back to where it started after close, nothing allocated or built on the device
 * inside the steps, and at most {@link #HEAP_BYTES_PER_STEP} of Java heap allocated per step.
 *
 * <p>The heap is measured as what the stepping thread allocates (every step runs on it), not as
 * the heap's occupancy after {@code System.gc()}, which depends on the collector that the
 * machine's size selects. Whatever a step retains it first allocates, so a leak of any size per
 * step beyond the bound fails here, whichever collector runs.
 */
class LongRunTest {
  private static final int STEPS = 10_000;
  /**
   * A step allocates about 850 bytes (JOCL's pointers and event handles, with compressed
   * references; more without them, on heaps over 32 GiB): the bound leaves room for that and
   * fails on, say, one copy of the batch's inputs kept or made per step.
   */
  private static final long HEAP_BYTES_PER_STEP = 2048;

  /** Bytes this thread has allocated so far, or -1 where the JVM cannot say. */
  private static long allocatedByThisThread() {
    if (ManagementFactory.getThreadMXBean() instanceof com.sun.management.ThreadMXBean threads
        && threads.isThreadAllocatedMemorySupported() && threads.isThreadAllocatedMemoryEnabled()) {
      return threads.getCurrentThreadAllocatedBytes();
    }
    return -1;
  }

  @Test
  void tenThousandStepsLeakNothing() {
    Graph g = Models.mlp(1, 20, 32, 5);
    float[][] xs = new float[10][], ys = new float[10][];
    for (int i = 0; i < 10; i++) {
      xs[i] = Models.uniform(16 * 20, i);
      ys[i] = Models.classes(16, 5, i);
    }
    try (OpenClBackend backend = (OpenClBackend) OpenClTests.backend()) {
      long buffersBefore = backend.liveBuffers();
      long during, allocated;
      Stats afterWarmUp, afterRun;
      try (Session s = backend.compile(g, 16)) {
        s.setOptimizer(Adam.adam().learningRate(0.01f).build());
        Input x = (Input) g.node("x"), y = (Input) g.node("y");
        for (int step = 0; step < 100; step++) {
          s.setInput(x, xs[step % 10]);
          s.setInput(y, ys[step % 10]);
          s.trainStep();
        }
        during = backend.liveBuffers();
        afterWarmUp = s.stats();
        long before = allocatedByThisThread();
        for (int step = 0; step < STEPS; step++) {
          s.setInput(x, xs[step % 10]);
          s.setInput(y, ys[step % 10]);
          float loss = s.trainStep();
          if (!Float.isFinite(loss)) fail("step " + step + ": loss " + loss); // no message built on every step
        }
        long after = allocatedByThisThread();
        allocated = before < 0 || after < 0 ? -1 : after - before;
        assertEquals(during, backend.liveBuffers(), "live device buffers after " + STEPS + " steps");
        afterRun = s.stats();
      }
      Stats steps = afterRun.since(afterWarmUp);
      System.out.printf(Locale.ROOT, "%d steps on %s: %d live device buffers throughout (%d before compile, %d after "
          + "close), %d allocated and %d programs built inside the steps; Java heap allocated per step: %s%n", STEPS,
          backend.name(), during, buffersBefore, backend.liveBuffers(), steps.buffersAllocated(), steps.programBuilds(),
          allocated < 0 ? "not measurable on this JVM" : (allocated / STEPS) + " bytes");
      assertEquals(buffersBefore, backend.liveBuffers(), "device buffers back to the baseline after close");
      assertEquals(0, steps.buffersAllocated());
      assertEquals(0, steps.programBuilds());
      if (allocated >= 0) {
        assertTrue(allocated <= HEAP_BYTES_PER_STEP * STEPS, "the steps allocated " + allocated + " bytes of Java heap, "
            + allocated / STEPS + " per step; at most " + HEAP_BYTES_PER_STEP + " per step are expected");
      }
    }
  }
}
