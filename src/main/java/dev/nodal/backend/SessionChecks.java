package dev.nodal.backend;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;

/**
 * The arguments a {@link Session} refuses, checked before anything runs: a null argument is an
 * {@link IllegalArgumentException} naming it; anything else a {@link GraphException} naming the
 * node, and the element where a value is at fault. None depends on the session's state (see
 * {@link CallOrder} for that), only on its graph and {@link CompileOptions}.
 */
public final class SessionChecks {
  private final Graph graph;
  /** Every parameter's gradient, packed: asked for at every step, so counted once. */
  private final int packedGradientLength;
  private final CompileOptions options;

  /** Checks for a session of {@code graph}; refuses {@code options} that keep a node the graph lacks. */
  public SessionChecks(Graph graph, CompileOptions options) {
    this.graph = graph;
    this.options = options;
    this.packedGradientLength = graph.params().stream().mapToInt(p -> p.shape().exampleSize()).sum();
    for (String name : options.keep()) graph.node(name);
  }

  /** Refuses a null {@code value}, calling it {@code name}. */
  public static void requireNonNull(Object value, String name) {
    if (value == null) throw new IllegalArgumentException(name + " is null");
  }

  /**
   * How many examples {@code data} holds for {@code input}: refused, naming the input, when it is
   * empty, not a whole number of examples, or more than {@code maxBatch} of them.
   */
  public static int examples(Input input, float[] data, int maxBatch) {
    int per = input.shape().exampleSize();
    if (data.length == 0 || data.length % per != 0) {
      throw new GraphException(input.kind() + " '" + input.name() + "': " + data.length
          + " values are not a whole number of examples of " + per);
    }
    int n = data.length / per;
    if (n > maxBatch) {
      throw new GraphException(input.kind() + " '" + input.name() + "': batch of " + n
          + " exceeds the session's maximum of " + maxBatch);
    }
    return n;
  }

  /** Refuses input values that are not finite, or, for labels, not class indices; names the first. */
  public static void requireInputValues(Input input, float[] data) {
    int classes = input.classes();
    for (int i = 0; i < data.length; i++) {
      float v = data[i];
      if (classes > 0 ? !(v >= 0 && v < classes && v == Math.rint(v)) : !Float.isFinite(v)) {
        throw new GraphException(input.kind() + " '" + input.name() + "': value " + v + " at element " + i
            + (classes > 0 ? " is not a class index in [0, " + classes + ")" : " is not finite"));
      }
    }
  }

  /**
   * The class indices of a labels input as the floats a session holds them in: refused, naming the
   * input, for an input of examples, and, naming the first at fault, for an index outside
   * {@code [0, classes)}.
   */
  public static float[] labelValues(Input input, int[] indices) {
    if (!input.isLabels()) {
      throw new GraphException("input '" + input.name() + "' holds examples, not class indices: setLabels takes a labels "
          + "input (GraphBuilder.labels); set examples with setInput");
    }
    int classes = input.classes();
    float[] values = new float[indices.length];
    for (int i = 0; i < indices.length; i++) {
      int v = indices[i];
      if (v < 0 || v >= classes) {
        throw new GraphException("labels '" + input.name() + "': class " + v + " at element " + i + " is not in [0, "
            + classes + ")");
      }
      if (v > 1 << 24) {
        throw new GraphException("labels '" + input.name() + "': class " + v + " at element " + i + " is above 2^24, "
            + "which a session's float cannot hold exactly");
      }
      values[i] = v;
    }
    return values;
  }

  /** Refuses a non-finite value for {@code node}, naming it and the element. */
  public static void requireFinite(Node node, float[] values) {
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        throw new GraphException(node.kind() + " '" + node.name() + "': value " + values[i] + " at element " + i
            + " is not finite");
      }
    }
  }

  /** Refuses calls that need a loss on a graph without one. */
  public void requireLoss() {
    if (graph.loss() == null) throw new GraphException("this graph has no loss: build it with GraphBuilder.build(loss)");
  }

  /** Refuses a node of another graph (one of the same name included). */
  public void requireOwn(Node node) {
    if (!graph.hasNode(node.name()) || graph.node(node.name()) != node) {
      throw new GraphException(node.kind() + " '" + node.name() + "' is not a node of this session's graph");
    }
  }

  /** Refuses to read a node's value that does not survive a step, naming the option that keeps it. */
  public void requireValue(Node node) {
    requireOwn(node);
    if (!options.keepRule().value(graph, node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "': its value is not kept after a step (its memory is "
          + "reused); compile with CompileOptions.keep(\"" + node.name() + "\") or keepAll()");
    }
  }

  /** Refuses to read a gradient the node has not, or that does not survive a step. */
  public void requireGradient(Node node) {
    requireOwn(node);
    if (!graph.needsGradient(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "' has no gradient: it is not on a path to the loss from a parameter or from an input that asks for its "
          + "gradient (Input.requiresGrad())");
    }
    if (!options.keepRule().gradient(graph, node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "': its gradient is not kept after a step; compile with "
          + "CompileOptions.keep(\"" + node.name() + "\") or keepAll()");
    }
  }

  /** Refuses values for a parameter of this graph that are not as many as it holds (finite or not). */
  public void requireParamValues(Param param, float[] values) {
    requireOwn(param);
    if (values.length != param.shape().exampleSize()) {
      throw new GraphException("param '" + param.name() + "': " + values.length + " values given, shape "
          + param.shape() + " holds " + param.shape().exampleSize());
    }
  }

  /** Refuses values for a state of this graph that are not as many as it holds, or not finite. */
  public void requireStateValues(State state, float[] values) {
    requireOwn(state);
    if (values.length != state.shape().exampleSize()) {
      throw new GraphException("state '" + state.name() + "': " + values.length + " values given, shape "
          + state.shape() + " holds " + state.shape().exampleSize());
    }
    requireFinite(state, values);
  }

  /** How many floats every parameter's gradient, packed, takes. */
  public int packedGradientLength() {
    return packedGradientLength;
  }

  /**
   * Refuses an array to write every parameter's gradient into ({@link Session#gradients(float[])})
   * that is not {@code total} floats long.
   */
  public static void requireGradientArray(float[] into, int total) {
    if (into.length != total) {
      throw new GraphException("gradients: an array of " + into.length + " floats given, the parameters' gradients take "
          + total);
    }
  }

  /** Refuses packed gradients (see {@link Session#gradients()}) of the wrong length or not finite. */
  public void requireGradients(float[] packed) {
    int total = packedGradientLength();
    if (packed.length != total) {
      throw new GraphException("setGradients: " + packed.length + " values given, the parameters hold " + total);
    }
    for (int i = 0; i < packed.length; i++) {
      if (!Float.isFinite(packed[i])) throw new GraphException("setGradients: value " + packed[i] + " at " + i + " is not finite");
    }
  }

  /**
   * Refuses optimizer state for {@code param} that is not one array per slot of {@code optimizer},
   * each as long as the parameter; returns the parameter's index in {@link Graph#params()}.
   */
  public int requireOptimizerState(Param param, float[][] state, Optimizer optimizer) {
    requireOwn(param);
    if (state.length != optimizer.stateSlots()) {
      throw new GraphException("param '" + param.name() + "': " + state.length + " optimizer state arrays given, "
          + optimizer.name() + " keeps " + optimizer.stateSlots());
    }
    for (float[] s : state) requireParamValues(param, s);
    return graph.params().indexOf(param);
  }
}
