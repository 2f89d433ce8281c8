package dev.nodal.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import org.junit.jupiter.api.Test;

/** End to end: a seeded two-layer network learns a non-linear problem, deterministically. */
class SpiralTrainingTest {

  static final int STEPS = 3000;

  /** Trains full-batch on the spiral and returns [accuracy, final loss]. */
  static float[] train(long seed) {
    Models.Spiral data = Models.Spiral.make(100, 11);
    Graph g = Models.mlp(seed, 2, 32, 2);
    try (Session s = Backends.cpu().compile(g, CompileOptions.maxBatch(data.size()).keep("fc2"))) {
      s.setOptimizer(Sgd.builder().learningRate(0.3f).momentum(0.9f).build());
      s.setInput((Input) g.node("x"), data.features());
      s.setInput((Input) g.node("y"), data.labels());
      float loss = 0;
      for (int step = 0; step < STEPS; step++) loss = s.trainStep();
      s.forward();
      float[] logits = s.value(g.node("fc2"));
      int correct = 0;
      for (int i = 0; i < data.size(); i++) {
        int predicted = logits[2 * i + 1] > logits[2 * i] ? 1 : 0;
        if (predicted == data.labels()[i]) correct++;
      }
      return new float[] {(float) correct / data.size(), loss};
    }
  }

  @Test
  void twoLayerNetworkLearnsTheSpiral() {
    float[] first = train(42);
    assertTrue(first[0] >= 0.95f, "accuracy " + first[0] + " (loss " + first[1] + ") after " + STEPS + " steps");
    assertArrayEquals(first, train(42), "the same seed must give the same result");
  }
}
