package dev.nodal.tensor;

/**
 * What a product does to each element of C once its sum is complete: adds a bias, one value per
 * column ({@code perRow == false}: a dense layer's N×B output) or per row (a convolution's K×P·Q
 * output per image), starting at {@code biasOffset} of {@code bias} (null: no bias), then applies
 * the activation. The GEMM applies it to each tile while the tile is still in cache, instead of a
 * pass per op over the whole output.
 */
public record Epilogue(float[] bias, int biasOffset, boolean perRow, FusedActivation activation) {
  /** Nothing: C is the product. */
  public static final Epilogue NONE = new Epilogue(null, 0, false, FusedActivation.NONE);

  public Epilogue {
    if (activation == null) throw new IllegalArgumentException("an epilogue needs an activation (NONE for none)");
  }

  /** {@code bias[j]} added to column j, then {@code activation}; {@code bias} may be null. */
  public static Epilogue columns(float[] bias, FusedActivation activation) {
    return new Epilogue(bias, 0, false, activation);
  }

  /** {@code bias[offset + i]} added to row i, then {@code activation}; {@code bias} may be null. */
  public static Epilogue rows(float[] bias, int offset, FusedActivation activation) {
    return new Epilogue(bias, offset, true, activation);
  }

  /** True when it changes nothing. */
  public boolean isNone() {
    return bias == null && activation == FusedActivation.NONE;
  }

  /** Applies it to rows {@code [r0, r1)} × columns {@code [c0, c1)} of the row-major C at {@code cOff}, n columns wide. */
  void apply(float[] c, int cOff, int n, int r0, int r1, int c0, int c1) {
    if (bias != null) {
      for (int i = r0; i < r1; i++) {
        for (int j = c0, at = cOff + i * n + c0; j < c1; j++, at++) c[at] += bias[biasOffset + (perRow ? i : j)];
      }
    }
    activate(activation, c, cOff, n, r0, r1, c0, c1);
  }

  /** Only the activation, on the same block of C (its bias already added). */
  static void activate(FusedActivation activation, float[] c, int cOff, int n, int r0, int r1, int c0, int c1) {
    for (int i = r0; i < r1; i++) {
      int at = cOff + i * n;
      for (int j = c0; j < c1; j++) c[at + j] = activation.apply(c[at + j]);
    }
  }
}
