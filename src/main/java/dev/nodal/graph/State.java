package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Data that is not trainable but lives as long as the parameters: batch norm's running mean and
 * variance, for example. It is set once by its {@link Init}, then written only by the op that
 * consumes it, in training mode (never by the optimizer and never in evaluation mode); it gets no
 * gradient, is saved in checkpoints beside the parameters and is drawn in a colour of its own by
 * {@code nodal graph}. Exactly one node may consume it, since that node updates it in place. Its
 * shape has no batch dimension.
 *
 * <p>Why a node and not a field of the op: ops stay stateless, so the same op object can serve
 * several nodes, and everything a step changes is visible in the graph, the step plan and the
 * checkpoint.
 */
public final class State extends Node {
  private final Init init;

  State(GraphBuilder owner, String name, Shape shape, Init init) {
    super(owner, name, shape);
    this.init = init;
  }

  public Init init() {
    return init;
  }

  /** The values before any training step. */
  public float[] initialValues() {
    return init.values(shape(), 0L);
  }

  @Override
  public List<Node> inputs() {
    return List.of();
  }

  @Override
  public String kind() {
    return "state";
  }
}
