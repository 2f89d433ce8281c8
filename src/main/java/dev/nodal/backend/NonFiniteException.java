package dev.nodal.backend;

import dev.nodal.graph.GraphException;

/**
 * A NaN or infinity found by {@link CompileOptions#checkNumerics}: the first node, in the order
 * its phase ran, that holds one, and where.
 */
public final class NonFiniteException extends GraphException {
  private final String node;
  private final String phase;

  NonFiniteException(String phase, String node, String message) {
    super(message);
    this.phase = phase;
    this.node = node;
  }

  /** {@code forward}, {@code backward} or {@code update}. */
  public String phase() {
    return phase;
  }

  /** The name of the node whose output (forward), gradient (backward) or value (update) is not finite. */
  public String node() {
    return node;
  }
}
