package dev.nodal.ops;

import dev.nodal.tensor.FusedActivation;

/** {@code z = tanh(x)}; {@code dx += dz·(1 − z²)}, computed from the output. */
public final class Tanh extends OutputActivation {
  public Tanh() {
    super(FusedActivation.TANH);
  }
}
