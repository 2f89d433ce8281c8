package dev.nodal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.ops.Layers;
import dev.nodal.graph.Node;
import dev.nodal.ops.Relu;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.testkit.Models;
import dev.nodal.optim.Sgd;
import org.junit.jupiter.api.Test;

/** The Java example of README.md, as written there (on the CPU, with the spiral as data). */
class ReadmeExampleTest {

  @Test
  void theReadmeExampleRunsAndLearns() {
    Models.Spiral data = Models.Spiral.make(100, 11);
    float[] features = data.features();
    float[] labels = data.labels();
    float loss = Float.NaN;
    float[] scores;

    GraphBuilder g = new GraphBuilder(42);                       // seed of every parameter
    Input x = g.input("x", 2);                                   // shape [N, 2]
    Input y = g.labels("y", 2);                                  // class indices, shape [N]
    Node h = g.apply(new Relu(), "h", Layers.dense(g, "fc1", x, 32, Init.he()));
    Node logits = Layers.dense(g, "fc2", h, 2, Init.xavier());   // params fc2.W [32, 2], fc2.b [2]
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));

    try (Backend backend = Backends.open("cpu");
         Session s = backend.compile(graph, CompileOptions.maxBatch(200).keep("fc2"))) {
      s.setOptimizer(Sgd.builder().learningRate(0.3f).momentum(0.9f).build());
      for (int step = 0; step < 3000; step++) {
        s.setInput(x, features);                                 // 2 floats per example
        s.setInput(y, labels);                                   // one class index per example
        loss = s.trainStep();                                    // forward, backward, update
      }
      scores = s.value(logits);
    }
    assertEquals(400, scores.length);
    assertTrue(loss < 0.1f, "loss " + loss);
  }
}
