package dev.nodal.train;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.ops.Layers;
import dev.nodal.graph.Node;
import dev.nodal.ops.Relu;
import dev.nodal.ops.SoftmaxCrossEntropy;

/** The models the command line knows by name. Inputs are named "x" (features) and "y" (labels). */
public final class ModelZoo {
  private ModelZoo() {}

  public static final String[] NAMES = {"mlp"};

  public static Graph build(String name, long seed, int features, int classes) {
    return switch (name) {
      case "mlp" -> mlp(seed, features, classes, 256, 128);
      default -> throw new IllegalArgumentException("unknown model '" + name + "'; known: " + String.join(", ", NAMES));
    };
  }

  /**
   * A multi-layer perceptron: dense layers of the given widths with ReLU (He-initialised), then a
   * dense layer to the classes (Xavier), trained with softmax cross-entropy. Output node "logits".
   */
  public static Graph mlp(long seed, int features, int classes, int... hidden) {
    GraphBuilder g = new GraphBuilder(seed);
    Input x = g.input("x", features);
    Input y = g.labels("y", classes);
    Node h = x;
    for (int i = 0; i < hidden.length; i++) {
      h = g.apply(new Relu(), "relu" + (i + 1), Layers.dense(g, "fc" + (i + 1), h, hidden[i], Init.he()));
    }
    Node logits = Layers.dense(g, "logits", h, classes, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }
}
