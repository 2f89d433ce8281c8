package dev.nodal.graph;

import java.util.List;

/** A function node: the output of one stateless {@link Op} applied to its input nodes. */
public final class Apply extends Node {
  private final Op op;
  List<Node> inputs;
  final List<String> inputNames;

  Apply(GraphBuilder owner, String name, Op op, List<String> inputNames) {
    super(owner, name, null);
    this.op = op;
    this.inputNames = List.copyOf(inputNames);
  }

  public Op op() {
    return op;
  }

  @Override
  public List<Node> inputs() {
    return inputs;
  }

  @Override
  public String kind() {
    return op.kind();
  }
}
