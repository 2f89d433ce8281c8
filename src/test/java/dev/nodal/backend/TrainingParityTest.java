package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.optim.Sgd;
import org.junit.jupiter.api.Test;

/**
 * A 200-step training run of a small MLP on both backends, step by step: the loss of every step
 * agrees to 1e-3 relative, and so do the final parameters (relative to their largest value).
 */
class TrainingParityTest {
  static final int STEPS = 200;
  static final int BATCH = 33;

  @Test
  void mlpTrainsTheSameOnBothBackends() {
    Graph g = Models.mlp(21, 20, 65, 10);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu();
        Session d = device.compile(g, BATCH); Session c = cpu.compile(g, BATCH)) {
      d.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).weightDecay(1e-4f).build());
      c.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).weightDecay(1e-4f).build());
      for (int step = 0; step < STEPS; step++) {
        // A last, partial batch every tenth step exercises a second recorded plan.
        int n = step % 10 == 9 ? 7 : BATCH;
        float[] xs = Models.uniform(n * 20, 100 + step);
        float[] ys = teacher(xs, n);
        for (Session s : new Session[] {d, c}) {
          s.setInput(x, xs);
          s.setInput(y, ys);
        }
        float ld = d.trainStep(), lc = c.trainStep();
        assertTrue(Math.abs(ld - lc) <= 1e-3 * Math.abs(lc), "step " + step + ": loss " + ld + " on " + device.name()
            + ", " + lc + " on the CPU");
      }
      for (Param p : g.params()) {
        float[] a = d.value(p), b = c.value(p);
        double maxDiff = 0, maxRef = 0;
        for (int i = 0; i < a.length; i++) {
          maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
          maxRef = Math.max(maxRef, Math.abs(b[i]));
        }
        assertTrue(maxDiff <= 1e-3 * maxRef, p.name() + ": max difference " + maxDiff + " against max " + maxRef);
      }
    }
  }

  /** Learnable labels: the arg-max of a fixed linear map of the features. */
  static float[] teacher(float[] xs, int n) {
    float[] w = Models.uniform(20 * 10, 99);
    float[] ys = new float[n];
    for (int r = 0; r < n; r++) {
      int best = 0;
      double bestScore = Double.NEGATIVE_INFINITY;
      for (int c = 0; c < 10; c++) {
        double score = 0;
        for (int i = 0; i < 20; i++) score += xs[r * 20 + i] * w[i * 10 + c];
        if (score > bestScore) {
          bestScore = score;
          best = c;
        }
      }
      ys[r] = best;
    }
    return ys;
  }

  @Test
  void afterTheFirstStepAStepAllocatesNothingAndSynchronisesOnce() {
    Graph g = Models.mlp(3, 20, 64, 10);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    try (Backend device = OpenClTests.backend(); Session s = device.compile(g, 32)) {
      s.setOptimizer(new Sgd(0.1f));
      Runnable step = () -> {
        s.setInput(x, Models.uniform(32 * 20, 1));
        s.setInput(y, Models.classes(32, 10, 2));
        s.trainStep();
      };
      step.run();
      Stats before = s.stats();
      int steps = 5;
      for (int i = 0; i < steps; i++) step.run();
      Stats during = s.stats().since(before);
      assertEquals(0, during.buffersAllocated(), "buffers allocated inside steps");
      assertEquals(0, during.programBuilds(), "programs built inside steps");
      assertTrue(during.hostSynchronisations() <= steps, "host synchronisations: " + during.hostSynchronisations()
          + " in " + steps + " steps");
      assertEquals(steps * 4L, during.bytesFromDevice(), "only the loss is read back");
      assertTrue(during.kernelsEnqueued() > 0);
    }
  }
}
