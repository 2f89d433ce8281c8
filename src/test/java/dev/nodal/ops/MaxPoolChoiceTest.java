package dev.nodal.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * The branch-free arg-max of a 2×2 window, against the rule written out element by element: the
 * last NaN, else the first largest value (of -0 and +0, the first), and none (-1) when the window
 * holds only -inf. Every window of four values from {-inf, -1, -0, +0, 1, NaN}.
 */
class MaxPoolChoiceTest {
  private static final float[] VALUES = {Float.NEGATIVE_INFINITY, -1f, -0f, 0f, 1f, Float.NaN};

  /** The rule as {@code Pool2d}'s general loop applies it, in the window's order. */
  private static int expected(float[] window) {
    float best = Float.NEGATIVE_INFINITY;
    int at = -1;
    for (int i = 0; i < 4; i++) {
      if (window[i] > best || window[i] != window[i]) {
        best = window[i];
        at = i;
      }
    }
    return at;
  }

  @Test
  void choosesAsTheRuleOnEveryWindow() {
    int n = VALUES.length, windows = 0;
    // A 2 × 2 image per window, inside a larger plane (width 6, at column 2, row 2) so offsets count.
    for (int a = 0; a < n; a++) for (int b = 0; b < n; b++) for (int c = 0; c < n; c++) for (int d = 0; d < n; d++) {
      float[] window = {VALUES[a], VALUES[b], VALUES[c], VALUES[d]};
      float[] plane = new float[3 + 6 * 6];
      int w = 6, p = 1, q = 1, off = 3, i = 2 * p * w + 2 * q;
      plane[off + i] = window[0];
      plane[off + i + 1] = window[1];
      plane[off + i + w] = window[2];
      plane[off + i + w + 1] = window[3];
      int want = expected(window), got = Pool2d.max2x2(plane, off, w, p, q);
      int[] index = {i, i + 1, i + w, i + w + 1};
      assertEquals(want < 0 ? -1 : index[want], got, java.util.Arrays.toString(window));
      windows++;
    }
    assertEquals(1296, windows);
  }
}
