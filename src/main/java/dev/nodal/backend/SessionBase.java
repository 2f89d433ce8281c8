package dev.nodal.backend;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.train.Optimizer;

/** What every backend's session does alike: argument checks and the batch bookkeeping. */
public abstract class SessionBase implements Session {
  protected final Graph graph;
  protected final CompileOptions options;
  protected final int maxBatch;
  protected final Stats stats = new Stats();
  protected Optimizer optimizer;
  private int batch;
  private final int[] inputBatch;

  protected SessionBase(Graph graph, CompileOptions options) {
    this.graph = graph;
    this.options = options;
    this.maxBatch = options.maxBatch();
    for (String name : options.keep()) graph.node(name);
    this.inputBatch = new int[graph.inputs().size()];
  }

  @Override
  public Graph graph() {
    return graph;
  }

  @Override
  public int maxBatch() {
    return maxBatch;
  }

  @Override
  public int batch() {
    return batch;
  }

  @Override
  public Stats stats() {
    return stats;
  }

  @Override
  public final void setInput(Input input, float[] data) {
    requireOwn(input);
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
    checkValues(input, data);
    inputBatch[graph.inputs().indexOf(input)] = n;
    batch = n;
    upload(input, data, n);
  }

  private static void checkValues(Input input, float[] data) {
    int classes = input.classes();
    for (int i = 0; i < data.length; i++) {
      float v = data[i];
      if (classes > 0 ? !(v >= 0 && v < classes && v == Math.rint(v)) : !Float.isFinite(v)) {
        throw new GraphException(input.kind() + " '" + input.name() + "': value " + v + " at element " + i
            + (classes > 0 ? " is not a class index in [0, " + classes + ")" : " is not finite"));
      }
    }
  }

  /** Checks that every input holds a batch of the same size; returns that size. */
  protected final int checkedBatch() {
    for (int i = 0; i < inputBatch.length; i++) {
      if (inputBatch[i] != batch) {
        Input in = graph.inputs().get(i);
        throw new GraphException(inputBatch[i] == 0
            ? "input '" + in.name() + "' has not been set"
            : "input '" + in.name() + "' holds " + inputBatch[i] + " examples, the last input set holds " + batch);
      }
    }
    return batch;
  }

  @Override
  public void setOptimizer(Optimizer optimizer) {
    this.optimizer = optimizer;
    installOptimizer(optimizer);
  }

  protected final void requireOptimizer() {
    if (optimizer == null) throw new IllegalStateException("no optimizer: call setOptimizer before update");
  }

  protected final void requireLoss() {
    if (graph.loss() == null) throw new GraphException("this graph has no loss: build it with GraphBuilder.build(loss)");
  }

  protected final void requireOwn(Node node) {
    if (!graph.hasNode(node.name()) || graph.node(node.name()) != node) {
      throw new GraphException(node.kind() + " '" + node.name() + "' is not a node of this session's graph");
    }
  }

  /** True when the node's value survives a step: see {@link CompileOptions}. */
  protected final boolean isValueKept(Node node) {
    return node instanceof Param || node instanceof Input || node == graph.loss() || graph.consumers(node).isEmpty()
        || options.keepEverything() || options.keep().contains(node.name());
  }

  /** True when the node's gradient survives a step. */
  protected final boolean isGradientKept(Node node) {
    return graph.needsGradient(node)
        && (node instanceof Param || node == graph.loss() || options.keepEverything() || options.keep().contains(node.name()));
  }

  protected final void requireValue(Node node) {
    requireOwn(node);
    if (!isValueKept(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "': its value is not kept after a step (its memory is "
          + "reused); compile with CompileOptions.keep(\"" + node.name() + "\") or keepAll()");
    }
  }

  protected final void requireGradient(Node node) {
    requireOwn(node);
    if (!graph.needsGradient(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "' has no gradient: it is not on a path from a parameter to the loss");
    }
    if (!isGradientKept(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "': its gradient is not kept after a step; compile with "
          + "CompileOptions.keep(\"" + node.name() + "\") or keepAll()");
    }
  }

  protected final void checkParamValues(Param param, float[] values) {
    requireOwn(param);
    if (values.length != param.shape().exampleSize()) {
      throw new GraphException("param '" + param.name() + "': " + values.length + " values given, shape "
          + param.shape() + " holds " + param.shape().exampleSize());
    }
  }

  /** Checks a state given for {@link #setOptimizerState}; returns the parameter's index. */
  protected final int checkOptimizerState(Param param, float[][] state) {
    requireOptimizer();
    requireOwn(param);
    if (state.length != optimizer.stateSlots()) {
      throw new GraphException("param '" + param.name() + "': " + state.length + " optimizer state arrays given, "
          + optimizer.name() + " keeps " + optimizer.stateSlots());
    }
    for (float[] s : state) checkParamValues(param, s);
    return graph.params().indexOf(param);
  }

  /** Copies a validated batch of {@code n} examples into the input's buffer. */
  protected abstract void upload(Input input, float[] data, int n);

  /** Allocates the optimizer's state, zeroed. */
  protected abstract void installOptimizer(Optimizer optimizer);
}
