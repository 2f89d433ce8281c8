package dev.nodal.ops;

import dev.nodal.tensor.FusedActivation;

/** {@code z = max(x, 0)} (NaN stays NaN, as in PyTorch); {@code dx += dz} where {@code z > 0}. */
public final class Relu extends OutputActivation {
  public Relu() {
    super(FusedActivation.RELU);
  }
}
