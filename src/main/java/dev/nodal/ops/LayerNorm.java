package dev.nodal.ops;

import dev.nodal.graph.AttributeSchema;

/**
 * Layer normalisation over the last axis, as PyTorch's
 * {@code LayerNorm(normalized_shape=D, eps, elementwise_affine)}: input {@code x [..., D]} of any
 * rank from 1 (every leading dimension, a symbolic batch included, counts rows), and with
 * {@code affine} a scale {@code gamma [D]} and a shift {@code beta [D]} (PyTorch's {@code weight}
 * and {@code bias}), graph inputs as batch norm's are. Per row, {@code mean} and the biased variance {@code var} give
 * {@code xhat = (x − mean)/sqrt(var + eps)} and {@code z = xhat·gamma + beta} ({@code z = xhat}
 * without affine). The same in training and in evaluation mode.
 *
 * <p>Backward, with {@code g = dz·gamma} (or {@code dz}) and the means over the row's D values:
 * {@code dx = (g − mean(g) − xhat·mean(g·xhat))/sqrt(var + eps)},
 * {@code dgamma = Σ_rows dz·xhat}, {@code dbeta = Σ_rows dz}. Forward saves each row's mean and
 * {@code 1/sqrt(var + eps)} in its workspace, which backward reads.
 *
 * <p>Graph-file attributes: {@code eps} (default 1e-5, PyTorch's) and {@code affine} (default
 * true, PyTorch's {@code elementwise_affine}). {@link Layers#layerNorm} makes the parameters.
 */
public final class LayerNorm extends RowNorm {
  /** PyTorch's default: eps 1e-5. */
  public static final float DEFAULT_EPS = 1e-5f;

  /** The graph file's attributes of a layer norm. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.number("eps", 1e-5, 0, false, Double.MAX_VALUE, true),
      AttributeSchema.bool("affine", true));

  static LayerNorm fromAttributes(AttributeSchema.Values a) {
    return new LayerNorm((float) a.number("eps"), a.bool("affine"));
  }

  /** With eps 1e-5, and a scale and a shift. */
  public LayerNorm() {
    this(DEFAULT_EPS, true);
  }

  /**
   * @param eps added to the variance before its square root: positive and finite
   * @param affine whether the node takes a {@code gamma} and a {@code beta} (inputs 1 and 2)
   */
  public LayerNorm(float eps, boolean affine) {
    super(true, eps, affine);
  }
}
