package dev.nodal.ops;

import dev.nodal.graph.AttributeSchema;

/**
 * Mean over chosen axes, as PyTorch's {@code torch.mean(x, dim=axes, keepdim=keepDims)}: the
 * averaged axes leave the shape, or stay with size 1 when {@code keepDims}. A negative axis counts
 * from the end ({@code -1} is the last). Backward: each element of x gets the gradient of the
 * output element it was averaged into, divided by the count averaged.
 *
 * <p>The batch axis (0 of an input with a batch) cannot be reduced: the result would depend on
 * how the examples are grouped into steps (and on a data-parallel worker's share of them); the
 * losses ({@link Mse}, {@link Nll}) average over the batch. Axes after it can:
 * {@code [N, T, D]} over {@code -1} is {@code [N, T]}.
 */
public final class Mean extends AxisReduction {
  /**
   * A mean over {@code axes} (at least one; all of them for a single value).
   *
   * @param keepDims keep each averaged axis with size 1, as PyTorch's {@code keepdim=True}
   */
  public Mean(boolean keepDims, int... axes) {
    super(axes, keepDims);
  }

  /** A mean over {@code axes} that drops them from the shape. */
  public Mean(int... axes) {
    this(false, axes);
  }

  static Mean fromAttributes(AttributeSchema.Values a) {
    return new Mean(a.bool("keep_dims"), axes(a));
  }

  @Override
  public String kind() {
    return "mean";
  }

  @Override
  double factor(int count) {
    return 1.0 / count;
  }
}
