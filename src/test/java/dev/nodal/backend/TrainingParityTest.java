package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.optim.Sgd;
import dev.nodal.ops.Layers;
import dev.nodal.ops.Relu;
import dev.nodal.ops.Sigmoid;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.tensor.CpuOptions;
import dev.nodal.tensor.FusedActivation;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A 200-step training run of a small MLP on both backends, step by step: the loss of every step
 * agrees to 1e-3 relative, and so do the final parameters (relative to their largest value).
 */
class TrainingParityTest {
  static final int STEPS = 200;
  static final int BATCH = 33;

  /** On each of the CPU product's micro-kernels, forced, whatever the CPU's registers would choose. */
  @ParameterizedTest(name = "cpu gemm {0}")
  @EnumSource(CpuOptions.Microkernel.class)
  void mlpTrainsTheSameOnBothBackends(CpuOptions.Microkernel tile) {
    Graph g = Models.mlp(21, 20, 65, 10);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu(CpuOptions.defaults().withMicrokernel(tile));
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

  /**
   * A dense layer with its activation fused ({@code Dense(f)}) trains as the same layer followed by
   * the activation's own node: bit for bit on the CPU (the same sums in the same order), and to
   * float rounding on the device, over 20 SGD steps with momentum, for each activation.
   */
  @Test
  void aFusedActivationTrainsAsTheSeparateNode() {
    for (FusedActivation f : new FusedActivation[] {FusedActivation.RELU, FusedActivation.SIGMOID, FusedActivation.TANH}) {
      Graph fused = hiddenLayer(f, true), separate = hiddenLayer(f, false);
      assertEquals(separate.nodes().size() - 1, fused.nodes().size(), "the fused graph has one node less");
      try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu()) {
        for (Backend b : new Backend[] {cpu, device}) {
          try (Session sf = b.compile(fused, BATCH); Session ss = b.compile(separate, BATCH)) {
            for (Session s : new Session[] {sf, ss}) {
              s.setOptimizer(Sgd.builder().learningRate(0.1f).momentum(0.9f).build());
            }
            for (int step = 0; step < 20; step++) {
              float[] xs = Models.uniform(BATCH * 20, 500 + step), ys = teacher(xs, BATCH);
              for (Graph g : new Graph[] {fused, separate}) {
                Session s = g == fused ? sf : ss;
                s.setInput((Input) g.node("x"), xs);
                s.setInput((Input) g.node("y"), ys);
              }
              float lf = sf.trainStep(), ls = ss.trainStep();
              String at = f + " on " + b.name() + ", step " + step;
              if (b == cpu) assertEquals(ls, lf, 0f, at);
              else assertEquals(ls, lf, 1e-5f * Math.abs(ls), at);
            }
            for (Param p : fused.params()) {
              float[] a = sf.value(p), c = ss.value((Param) separate.node(p.name()));
              for (int i = 0; i < a.length; i++) {
                if (b == cpu) assertEquals(c[i], a[i], 0f, f + " " + p.name() + "[" + i + "] on the CPU");
                else assertEquals(c[i], a[i], 1e-5f * (1 + Math.abs(c[i])), f + " " + p.name() + "[" + i + "]");
              }
            }
          }
        }
      }
    }
  }

  /** 20 features, 48 hidden units with activation f (fused into the dense node or a node of its own), 10 classes. */
  private static Graph hiddenLayer(FusedActivation f, boolean fused) {
    GraphBuilder g = new GraphBuilder(5);
    Input x = g.input("x", 20);
    Input y = g.labels("y", 10);
    Node h;
    if (fused) {
      h = Layers.dense(g, "fc1", x, 48, Init.xavier(), f);
    } else {
      Op act = switch (f) {
        case RELU -> new Relu();
        case SIGMOID -> new Sigmoid();
        case TANH -> new Tanh();
        case NONE -> throw new IllegalArgumentException();
      };
      h = g.apply(act, "act", Layers.dense(g, "fc1", x, 48, Init.xavier()));
    }
    Node logits = Layers.dense(g, "fc2", h, 10, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
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
