package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Adam;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/**
 * Two OpenCL backends in one JVM at once (two devices, or one device twice, as PoCL in CI): each
 * has its own context, queue and programs, nothing is shared process-wide, and training on both
 * in parallel threads gives the same numbers as on one.
 */
class TwoBackendsTest {

  private static float[] train(Backend backend, Graph g) {
    try (Session s = backend.compile(g, 16)) {
      s.setOptimizer(Adam.adam().learningRate(0.01f).build());
      for (int step = 0; step < 50; step++) {
        s.setInput((Input) g.node("x"), Models.uniform(16 * 6, step));
        s.setInput((Input) g.node("y"), Models.classes(16, 3, step));
        s.trainStep();
      }
      return s.gradients();
    }
  }

  @Test
  void twoBackendsTrainAtOnceAndAgree() throws Exception {
    Graph g = Models.mlp(5, 6, 12, 3);
    try (Backend first = OpenClTests.backend(); Backend second = OpenClTests.backend()) {
      OpenClBackend a = (OpenClBackend) first, b = (OpenClBackend) second;
      assertEquals(a.device().id(), b.device().id(), "the test device, opened twice");
      float[] alone = train(a, g);
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        Future<float[]> onA = pool.submit(() -> train(a, g));
        Future<float[]> onB = pool.submit(() -> train(b, g));
        assertArrayEquals(alone, onA.get(), "the first backend, beside the second");
        assertArrayEquals(alone, onB.get(), "the second backend, beside the first");
      } finally {
        pool.shutdown();
      }
    }
  }
}
