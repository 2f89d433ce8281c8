package dev.nodal.ops;

/**
 * Elementwise quotient {@code z = a / b} with PyTorch's broadcasting ({@code torch.div}, true
 * division; see {@link Broadcast}). Backward, as PyTorch computes it: {@code da += dz / b} and
 * {@code db += −dz ⊙ ((a / b) / b)}, each summed over the dimensions where that input was repeated.
 * A zero in b gives infinities or NaN, as it does in PyTorch.
 */
public final class Div extends Broadcast {
  public Div() {
    super(Arithmetic.DIV);
  }
}
