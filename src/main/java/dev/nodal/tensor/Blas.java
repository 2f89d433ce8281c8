package dev.nodal.tensor;

import java.util.stream.IntStream;

/**
 * The plain-Java loops of the CPU backend's linear algebra, on row-major float arrays: whatever
 * the JVM offers (the fallback of {@link CpuContext}'s products, and their reference in tests).
 * Loops are ordered so that the innermost one walks contiguous memory, which the JIT vectorises.
 * Stateless: which product runs, on how many threads, is {@link CpuContext}'s to say.
 */
public final class Blas {
  private Blas() {}

  /**
   * {@code C = alpha · op(A) · op(B) + beta · C} (see {@link CpuContext#gemm}) on the plain
   * loops, its rows split into {@code blocks} parts over the common fork-join pool (1: on the
   * calling thread). Each block owns whole rows of C and adds into them in the same order as the
   * serial loop, so the result does not depend on the number of blocks.
   */
  static void plainGemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff, int blocks) {
    scale(c, cOff, m * n, beta);
    if (blocks <= 1) {
      rows(transA, transB, 0, m, m, n, k, alpha, a, aOff, b, bOff, c, cOff);
    } else {
      IntStream.range(0, blocks).parallel().forEach(blk -> rows(transA, transB, (int) ((long) m * blk / blocks),
          (int) ((long) m * (blk + 1) / blocks), m, n, k, alpha, a, aOff, b, bOff, c, cOff));
    }
  }

  /** Rows {@code [from, to)} of C += alpha·op(A)·op(B), each matrix starting at its offset. */
  private static void rows(boolean transA, boolean transB, int from, int to, int m, int n, int k, float alpha,
      float[] a, int ao, float[] b, int bo, float[] c, int co) {
    if (!transA && !transB) {
      for (int i = from; i < to; i++) {
        int ci = co + i * n;
        for (int p = 0; p < k; p++) {
          float aip = alpha * a[ao + i * k + p];
          if (aip == 0f) continue;
          int bp = bo + p * n;
          for (int j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    } else if (transA && !transB) {
      for (int p = 0; p < k; p++) {
        int bp = bo + p * n;
        for (int i = from; i < to; i++) {
          float aip = alpha * a[ao + p * m + i];
          if (aip == 0f) continue;
          int ci = co + i * n;
          for (int j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    } else if (!transA) {
      for (int i = from; i < to; i++) {
        int ai = ao + i * k;
        for (int j = 0; j < n; j++) {
          int bj = bo + j * k;
          float s = 0f;
          for (int p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
          c[co + i * n + j] += alpha * s;
        }
      }
    } else {
      for (int i = from; i < to; i++) {
        for (int j = 0; j < n; j++) {
          float s = 0f;
          for (int p = 0; p < k; p++) s += a[ao + p * m + i] * b[bo + j * k + p];
          c[co + i * n + j] += alpha * s;
        }
      }
    }
  }

  /** {@code sums[j] += Σ_i x[i·cols + j]}: the column sums of a rows×cols matrix. */
  public static void addColumnSums(float[] x, int rows, int cols, float[] sums) {
    for (int i = 0; i < rows; i++) {
      int xi = i * cols;
      for (int j = 0; j < cols; j++) sums[j] += x[xi + j];
    }
  }

  /** {@code y[i·cols + j] += v[j]}: adds a row vector to every row. */
  public static void addRowVector(float[] y, int rows, int cols, float[] v) {
    for (int i = 0; i < rows; i++) {
      int yi = i * cols;
      for (int j = 0; j < cols; j++) y[yi + j] += v[j];
    }
  }

  static void scale(float[] c, int from, int len, float beta) {
    if (beta == 1f) return;
    if (beta == 0f) {
      java.util.Arrays.fill(c, from, from + len, 0f);
    } else {
      for (int i = from; i < from + len; i++) c[i] *= beta;
    }
  }
}
