package dev.nodal.ops;

import dev.nodal.graph.AttributeSchema;

/**
 * Root-mean-square normalisation over the last axis, as LLaMA's {@code RMSNorm} and PyTorch's
 * {@code RMSNorm(D, eps)} (from PyTorch 2.4): input {@code x [..., D]} of any rank from 1 (every
 * leading dimension, a symbolic batch included, counts rows), and with {@code affine} a scale
 * {@code gamma [D]} (PyTorch's {@code weight}); there is no shift.
 * Per row, {@code z = x/sqrt(mean(x²) + eps)·gamma} ({@code z = x/sqrt(mean(x²) + eps)} without
 * affine). The same in training and in evaluation mode.
 *
 * <p>Backward, with {@code rstd = 1/sqrt(mean(x²) + eps)}, {@code xhat = x·rstd},
 * {@code g = dz·gamma} (or {@code dz}) and the means over the row's D values:
 * {@code dx = rstd·(g − xhat·mean(g·xhat))} and {@code dgamma = Σ_rows dz·xhat}. Forward saves
 * each row's rstd in its workspace, which backward reads.
 *
 * <p>Graph-file attributes: {@code eps} (default 1e-6, LLaMA's; PyTorch's own {@code eps=None}
 * means the float type's machine epsilon, about 1.19e-7) and {@code affine} (default true,
 * PyTorch's {@code elementwise_affine}). {@link Layers#rmsNorm} makes the parameter.
 */
public final class RMSNorm extends RowNorm {
  /** LLaMA's default: eps 1e-6. */
  public static final float DEFAULT_EPS = 1e-6f;

  /** The graph file's attributes of an RMS norm. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.number("eps", 1e-6, 0, false, Double.MAX_VALUE, true),
      AttributeSchema.bool("affine", true));

  static RMSNorm fromAttributes(AttributeSchema.Values a) {
    return new RMSNorm((float) a.number("eps"), a.bool("affine"));
  }

  /** With eps 1e-6, and a scale. */
  public RMSNorm() {
    this(DEFAULT_EPS, true);
  }

  /**
   * @param eps added to the mean of squares before its square root: positive and finite
   * @param affine whether the node takes a {@code gamma} (input 1)
   */
  public RMSNorm(float eps, boolean affine) {
    super(false, eps, affine);
  }
}
