package dev.nodal.train;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.io.GraphFile;
import dev.nodal.ops.BatchNorm;
import dev.nodal.ops.Conv2d;
import dev.nodal.ops.Layers;
import dev.nodal.graph.Node;
import dev.nodal.ops.Pool2d;
import dev.nodal.ops.Reshape;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.tensor.FusedActivation;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/** The models the command line knows by name. Inputs are named "x" (features) and "y" (labels). */
public final class ModelZoo {
  private ModelZoo() {}

  public static final String[] NAMES = {"mlp", "cnn", "cnn-bn"};

  /** One-line descriptions, for help texts. */
  public static final String DESCRIPTIONS = "mlp: 784-256-128-10 with ReLU; cnn: conv3x3 32 - ReLU - maxpool 2 - conv3x3 64 - "
      + "ReLU - maxpool 2 - dense 128 - ReLU - dense 10; cnn-bn: cnn with batch norm after each conv";

  public static Graph build(String name, long seed, int features, int classes) {
    return switch (name) {
      case "mlp" -> mlp(seed, features, classes, 256, 128);
      case "cnn" -> cnn(seed, features, classes, false);
      case "cnn-bn" -> cnn(seed, features, classes, true);
      default -> throw new IllegalArgumentException("unknown model '" + name + "'; known: " + String.join(", ", NAMES));
    };
  }

  /**
   * What the logs call {@code graph} trained under the label {@code model}: the zoo model's name
   * only when the graph is that model as the zoo builds it now; otherwise a graph labelled with
   * the name, and why it is not the zoo's (a graph of the user's own, a checkpoint written by an
   * older zoo, or a name edited by hand). A {@link GptModel} is described by its sizes.
   */
  public static String describe(String model, Graph graph) {
    if (model.equals(GptModel.NAME)) {
      try {
        return GptModel.of(graph).toString();
      } catch (IllegalArgumentException e) {
        return "a graph labelled '" + model + "' (" + e.getMessage() + ")";
      }
    }
    if (!knows(model)) return "a graph labelled '" + model + "'";
    String differs = differs(model, graph);
    return differs == null ? model : "a graph labelled '" + model + "' (not the zoo's " + model + ": " + differs + ")";
  }

  /** The graph file's description of {@code graph}, seed 0, as a tree. */
  private static JsonNode tree(Graph graph) {
    try {
      return JSON.readTree(GraphFile.write(graph, 0));
    } catch (java.io.IOException e) {
      throw new IllegalStateException(e);
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

  /** True when {@code name} is a model of the zoo. */
  public static boolean knows(String name) {
    return List.of(NAMES).contains(name);
  }

  /**
   * Why {@code graph} is not the zoo's model {@code name}, or null when it is: the model built for
   * the features of the graph's input "x" and the classes of its labels "y" must have the same
   * nodes in the same order, with the same kinds, shapes, initializers, inputs and attributes, and
   * the same loss (the seed and the initial values are not compared: training has left them
   * behind).
   */
  public static String differs(String name, Graph graph) {
    if (!knows(name)) return "'" + name + "' is no model of the zoo (" + String.join(", ", NAMES) + ")";
    Node x = graph.hasNode("x") ? graph.node("x") : null, y = graph.hasNode("y") ? graph.node("y") : null;
    if (!(x instanceof Input in) || in.isLabels() || !(y instanceof Input labels) || !labels.isLabels()) {
      return "the zoo's models read input 'x' and labels 'y', which this graph lacks";
    }
    Graph zoo;
    try {
      zoo = build(name, 0, in.shape().exampleSize(), labels.classes());
    } catch (IllegalArgumentException e) {
      return "the zoo's " + name + " cannot take this graph's input 'x' " + in.shape() + ": " + e.getMessage();
    }
    JsonNode mine = tree(graph), theirs = tree(zoo);
    JsonNode ours = mine.get("nodes"), zoos = theirs.get("nodes");
    for (int i = 0; i < Math.max(ours.size(), zoos.size()); i++) {
      if (i >= ours.size()) return "it lacks the zoo's node '" + zoos.get(i).get("name").asText() + "'";
      if (i >= zoos.size()) return "its node '" + ours.get(i).get("name").asText() + "' is not in the zoo's " + name;
      String node = ours.get(i).get("name").asText();
      if (!node.equals(zoos.get(i).get("name").asText())) {
        return "its node " + (i + 1) + " is '" + node + "', the zoo's is '" + zoos.get(i).get("name").asText() + "'";
      }
      String field = firstDifference(ours.get(i), zoos.get(i), "");
      if (field != null) return "node '" + node + "' has " + field;
    }
    return mine.path("loss").equals(theirs.path("loss")) ? null : "its loss is not the zoo's";
  }

  /** The first key (into "attributes") at which two nodes of a graph file differ, with both values; null when none. */
  private static String firstDifference(JsonNode a, JsonNode b, String prefix) {
    Set<String> keys = new TreeSet<>();
    a.fieldNames().forEachRemaining(keys::add);
    b.fieldNames().forEachRemaining(keys::add);
    for (String k : keys) {
      JsonNode u = a.path(k), v = b.path(k);
      if (u.equals(v)) continue;
      if (k.equals("attributes") && u.isObject() && v.isObject()) return firstDifference(u, v, "attribute ");
      return prefix + "'" + k + "' " + (u.isMissingNode() ? "none" : u) + ", the zoo's " + (v.isMissingNode() ? "none" : v);
    }
    return null;
  }

  /**
   * The CNN of PyTorch's anchor script on square single-channel images of {@code features}
   * pixels: two blocks of 3×3 convolution (32, then 64 filters, padding 1), optional batch norm,
   * ReLU and 2×2 max pooling, then dense 128 with ReLU and a dense layer (each ReLU fused into the
   * layer before it: the convolution, or batch norm) to the classes. Weights
   * start as PyTorch's do ({@link Init#fanInUniform()}), biases at zero. Output node "logits".
   */
  public static Graph cnn(long seed, int features, int classes, boolean batchNorm) {
    return cnn(seed, features, classes, batchNorm, Conv2d.Algorithm.AUTO);
  }

  /** As {@link #cnn(long, int, int, boolean)}, with the convolutions' OpenCL form fixed. */
  public static Graph cnn(long seed, int features, int classes, boolean batchNorm, Conv2d.Algorithm convolutions) {
    int side = (int) Math.round(Math.sqrt(features));
    if (side * side != features || side % 4 != 0) {
      throw new IllegalArgumentException("the cnn models need square images with a side divisible by 4; "
          + features + " features are not");
    }
    GraphBuilder g = new GraphBuilder(seed);
    Input x = g.input("x", 1, side, side);
    Input y = g.labels("y", classes);
    Node h = x;
    int[] filters = {32, 64};
    for (int i = 0; i < filters.length; i++) {
      String n = "conv" + (i + 1);
      // The ReLU runs as the convolution writes its output, or batch norm its own.
      Conv2d conv = Conv2d.builder().padding(1).algorithm(convolutions)
          .activation(batchNorm ? FusedActivation.NONE : FusedActivation.RELU).build();
      h = Layers.conv2d(g, n, h, filters[i], 3, conv, Init.fanInUniform());
      if (batchNorm) h = Layers.batchNorm(g, "bn" + (i + 1), h, BatchNorm.builder().activation(FusedActivation.RELU).build());
      h = g.apply(Pool2d.max(2, 2, 0), "pool" + (i + 1), h);
    }
    h = g.apply(Reshape.flatten(), "flatten", h);
    h = Layers.dense(g, "fc1", h, 128, Init.fanInUniform(), FusedActivation.RELU);
    Node logits = Layers.dense(g, "logits", h, classes, Init.fanInUniform());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }

  /**
   * A multi-layer perceptron: dense layers of the given widths with ReLU fused into each
   * (He-initialised), then a
   * dense layer to the classes (Xavier), trained with softmax cross-entropy. Output node "logits".
   */
  public static Graph mlp(long seed, int features, int classes, int... hidden) {
    GraphBuilder g = new GraphBuilder(seed);
    Input x = g.input("x", features);
    Input y = g.labels("y", classes);
    Node h = x;
    for (int i = 0; i < hidden.length; i++) {
      h = Layers.dense(g, "fc" + (i + 1), h, hidden[i], Init.he(), FusedActivation.RELU);
    }
    Node logits = Layers.dense(g, "logits", h, classes, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }
}
