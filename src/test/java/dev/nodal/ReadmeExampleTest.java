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
import dev.nodal.ops.BatchNorm;
import dev.nodal.ops.Concat;
import dev.nodal.ops.Conv2d;
import dev.nodal.ops.GlobalAvgPool2d;
import dev.nodal.ops.Layers;
import dev.nodal.graph.Node;
import dev.nodal.ops.Relu;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.testkit.Models;
import dev.nodal.optim.Sgd;
import dev.nodal.tensor.Shape;
import org.junit.jupiter.api.Test;

/** The Java example of README.md, as written there (on the CPU, with the spiral as data). */
class ReadmeExampleTest {

  @Test
  void theReadmeExampleRunsAndLearns() {
    Models.Spiral data = Models.Spiral.make(100, 11);
    float[] features = data.features();
    int[] labels = new int[data.labels().length];
    for (int i = 0; i < labels.length; i++) labels[i] = (int) data.labels()[i];
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
        s.setLabels(y, labels);                                  // one class index (an int) per example
        loss = s.trainStep();                                    // forward, backward, update
      }
      scores = s.value(logits);
    }
    assertEquals(400, scores.length);
    assertTrue(loss < 0.1f, "loss " + loss);
  }

  /** The README's "Gradients of inputs" example, as written there (on the CPU). */
  @Test
  void theReadmeInputGradientExampleRuns() {
    float[] images = new float[5 * 192];
    for (int i = 0; i < images.length; i++) images[i] = (float) Math.sin(i * 0.37);
    int[] classes = {0, 3, 1, 2, 3};
    float[] saliency;

    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 8, 8).requiresGrad();                    // shape [N, 3, 8, 8]
    Input y = g.labels("y", 4);
    Node wide = Layers.conv2d(g, "wide", x, 8, 1, 5, Conv2d.builder().padding(0, 2).build(), Init.he()); // 1×5 windows
    Node tall = Layers.conv2d(g, "tall", x, 8, 5, 1, Conv2d.builder().padding(2, 0).build(), Init.he()); // 5×1 windows
    Node h = g.apply(new Concat(), "cat", wide, tall, x);              // [N, 19, 8, 8]
    h = Layers.batchNorm(g, "bn", h, BatchNorm.builder().momentum(0.01f).eps(1e-3f).build());
    Node logits = Layers.dense(g, "fc", g.apply(new GlobalAvgPool2d(), "gap", g.apply(new Relu(), "act", h)), 4,
        Init.xavier());
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));

    try (Backend backend = Backends.open("cpu");
         Session s = backend.compile(graph, CompileOptions.maxBatch(16))) {
      s.setInput(x, images);                                           // 192 floats per image
      s.setLabels(y, classes);                                         // an int in [0, 4) per image
      s.forward();
      s.backward();
      saliency = s.gradient(x);                                        // dL/dx, as x: 192 floats per image
    }
    assertEquals(Shape.batchOf(19, 8, 8), graph.node("cat").shape());
    assertEquals(5 * 192, saliency.length);
    assertTrue(java.util.stream.IntStream.range(0, saliency.length).allMatch(i -> Float.isFinite(saliency[i]))
        && java.util.stream.IntStream.range(0, saliency.length).anyMatch(i -> saliency[i] != 0), "a finite, non-zero dL/dx");
  }
}
