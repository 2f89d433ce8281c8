package dev.nodal.ops;

/**
 * Elementwise sum {@code z = a + b} with PyTorch's broadcasting ({@code torch.add}): shapes aligned
 * at their last dimensions, sizes equal or 1 (see {@link Broadcast}), so a bias of {@code [C]} adds
 * to every row of {@code [N, C]}. Backward: {@code da += dz} and {@code db += dz}, each summed over
 * the dimensions where that input was repeated.
 */
public final class Add extends Broadcast {
  public Add() {
    super(Arithmetic.ADD);
  }
}
