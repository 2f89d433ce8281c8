package dev.nodal.ops;

import dev.nodal.tensor.FusedActivation;

/** {@code z = 1 / (1 + e^-x)}; {@code dx += dz·z·(1 − z)}, computed from the output. */
public final class Sigmoid extends OutputActivation {
  public Sigmoid() {
    super(FusedActivation.SIGMOID);
  }
}
