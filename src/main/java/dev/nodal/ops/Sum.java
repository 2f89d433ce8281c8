package dev.nodal.ops;

import dev.nodal.graph.AttributeSchema;

/**
 * Sum over chosen axes, as PyTorch's {@code torch.sum(x, dim=axes, keepdim=keepDims)}: the
 * summed axes leave the shape, or stay with size 1 when {@code keepDims}. A negative axis counts
 * from the end ({@code -1} is the last). Backward: each element of x gets the gradient of the
 * output element it was summed into.
 *
 * <p>The batch axis (0 of an input with a batch) cannot be reduced: the result would depend on
 * how the examples are grouped into steps (and on a data-parallel worker's share of them); the
 * losses ({@link Mse}, {@link Nll}) average over the batch. Axes after it can:
 * {@code [N, T, D]} over {@code -1} is {@code [N, T]}.
 */
public final class Sum extends AxisReduction {
  /**
   * A sum over {@code axes} (at least one; all of them for a single value).
   *
   * @param keepDims keep each summed axis with size 1, as PyTorch's {@code keepdim=True}
   */
  public Sum(boolean keepDims, int... axes) {
    super(axes, keepDims);
  }

  /** A sum over {@code axes} that drops them from the shape. */
  public Sum(int... axes) {
    this(false, axes);
  }

  static Sum fromAttributes(AttributeSchema.Values a) {
    return new Sum(a.bool("keep_dims"), axes(a));
  }

  @Override
  public String kind() {
    return "sum";
  }

  @Override
  double factor(int count) {
    return 1;
  }
}
