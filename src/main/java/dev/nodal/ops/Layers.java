package dev.nodal.ops;

import dev.nodal.graph.Apply;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Dense;

/** Shorthands that create a layer's parameters and its function node together. */
public final class Layers {
  private Layers() {}

  /**
   * A dense layer {@code name} over {@code x} with {@code units} outputs: parameters
   * {@code name.W} (initialised by {@code init}) and {@code name.b} (zeros).
   */
  public static Apply dense(GraphBuilder g, String name, Node x, int units, Init init) {
    if (x.shape().rank() != 2) {
      throw new GraphException("dense '" + name + "': input '" + x.name() + "' must be a batch of feature rows, has shape " + x.shape());
    }
    Param w = g.param(name + ".W", init, x.shape().dim(1), units);
    Param b = g.param(name + ".b", Init.zeros(), units);
    return g.apply(new Dense(), name, x, w, b);
  }
}
