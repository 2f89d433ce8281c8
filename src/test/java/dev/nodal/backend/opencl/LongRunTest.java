package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Session;
import dev.nodal.backend.Stats;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Adam;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import org.junit.jupiter.api.Test;

/**
 * A long run on OpenCL: 10,000 training steps, with the number of live device buffers constant
 * through them and back to where it started after close, nothing allocated or built inside the
 * steps, and the JVM heap back to its size after the warm-up.
 */
class LongRunTest {
  private static final int STEPS = 10_000;

  private static long usedHeap() {
    Runtime rt = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) System.gc();
    return rt.totalMemory() - rt.freeMemory();
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
      long during, heapWarm, heapEnd;
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
        heapWarm = usedHeap();
        afterWarmUp = s.stats();
        for (int step = 0; step < STEPS; step++) {
          s.setInput(x, xs[step % 10]);
          s.setInput(y, ys[step % 10]);
          float loss = s.trainStep();
          assertTrue(Float.isFinite(loss), "step " + step);
        }
        assertEquals(during, backend.liveBuffers(), "live device buffers after " + STEPS + " steps");
        afterRun = s.stats();
        heapEnd = usedHeap();
      }
      Stats steps = afterRun.since(afterWarmUp);
      System.out.printf("%d steps on %s: %d live device buffers throughout (%d before compile, %d after close), "
          + "%d allocated and %d programs built inside the steps, heap %+.1f MiB%n", STEPS, backend.name(), during,
          buffersBefore, backend.liveBuffers(), steps.buffersAllocated(), steps.programBuilds(),
          (heapEnd - heapWarm) / 1048576.0);
      assertEquals(buffersBefore, backend.liveBuffers(), "device buffers back to the baseline after close");
      assertEquals(0, steps.buffersAllocated());
      assertEquals(0, steps.programBuilds());
      assertTrue(heapEnd - heapWarm < 8L << 20, "heap grew by " + (heapEnd - heapWarm) + " bytes");
    }
  }
}
