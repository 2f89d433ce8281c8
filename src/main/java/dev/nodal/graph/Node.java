package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * A node of a graph: static data ({@link Input}), dynamic data ({@link Param}), non-trainable {@link State} or a function of
 * other nodes ({@link Apply}). Nodes are created by a {@link GraphBuilder}, belong to exactly one
 * graph and are immutable once it is built. Their {@link #id()} is their position in the graph's topological order.
 */
public abstract sealed class Node permits Input, Param, State, Apply {
  private final GraphBuilder owner;
  private final String name;
  Shape shape;
  int id = -1;

  Node(GraphBuilder owner, String name, Shape shape) {
    this.owner = owner;
    this.name = name;
    this.shape = shape;
  }

  public String name() {
    return name;
  }

  /** The shape, with {@link Shape#BATCH} standing for the batch size. */
  public Shape shape() {
    return shape;
  }

  /** Position in the graph's topological order; -1 until the graph is built. */
  public int id() {
    return id;
  }

  /** The nodes this one is computed from; empty for data nodes. */
  public abstract List<Node> inputs();

  /** Short name of the node type, as used in messages and in the graph file. */
  public abstract String kind();

  GraphBuilder owner() {
    return owner;
  }

  @Override
  public String toString() {
    return kind() + " '" + name + "' " + shape;
  }
}
