package dev.nodal.ops;

/**
 * Elementwise product {@code z = a ⊙ b} with PyTorch's broadcasting ({@code torch.mul}; see
 * {@link Broadcast}). Backward: {@code da += dz ⊙ b} and {@code db += dz ⊙ a}, each summed over
 * the dimensions where that input was repeated.
 */
public final class Mul extends Broadcast {
  public Mul() {
    super(Arithmetic.MUL);
  }
}
