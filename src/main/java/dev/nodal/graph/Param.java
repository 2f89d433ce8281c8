package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Dynamic data: a trainable tensor. It is set once by its {@link Init} from its own seed, then
 * changed only by the optimizer. Its shape has no batch dimension.
 */
public final class Param extends Node {
  private final Init init;
  private final long seed;

  Param(GraphBuilder owner, String name, Shape shape, Init init, long seed) {
    super(owner, name, shape);
    this.init = init;
    this.seed = seed;
  }

  public Init init() {
    return init;
  }

  public long seed() {
    return seed;
  }

  /** The initial values, the same for the same seed on every machine. */
  public float[] initialValues() {
    return init.values(shape(), seed);
  }

  @Override
  public List<Node> inputs() {
    return List.of();
  }

  @Override
  public String kind() {
    return "param";
  }
}
