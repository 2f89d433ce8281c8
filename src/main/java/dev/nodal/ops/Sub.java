package dev.nodal.ops;

/**
 * Elementwise difference {@code z = a − b} with PyTorch's broadcasting ({@code torch.sub}; see
 * {@link Broadcast}). Backward: {@code da += dz} and {@code db −= dz}, each summed over the
 * dimensions where that input was repeated.
 */
public final class Sub extends Broadcast {
  public Sub() {
    super(Arithmetic.SUB);
  }
}
