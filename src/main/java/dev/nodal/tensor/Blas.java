package dev.nodal.tensor;

import java.util.stream.IntStream;

/**
 * The few dense linear-algebra loops the CPU backend needs, on row-major float arrays. Loops are
 * ordered so that the innermost one walks contiguous memory, which the JIT vectorises; large
 * products are split by rows of the result over the common fork-join pool, deterministically.
 */
public final class Blas {
  private Blas() {}

  /**
   * {@code C = alpha · op(A) · op(B) + beta · C}, where {@code op(A)} is M×K and {@code op(B)} is
   * K×N. With {@code transA}, A is stored K×M; with {@code transB}, B is stored N×K. C is M×N.
   * {@code beta = 1} accumulates into C, which is how backward passes add their gradients.
   */
  public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, float[] b, float beta, float[] c) {
    scale(c, m * n, beta);
    int blocks = (long) m * n * k < PARALLEL_WORK ? 1 : Math.min(m, 4 * Runtime.getRuntime().availableProcessors());
    if (blocks == 1) {
      rows(transA, transB, 0, m, m, n, k, alpha, a, b, c);
    } else {
      // Each block owns whole rows of C and adds into them in the same order as the serial loop,
      // so the result does not depend on the number of threads.
      IntStream.range(0, blocks).parallel().forEach(blk ->
          rows(transA, transB, (int) ((long) m * blk / blocks), (int) ((long) m * (blk + 1) / blocks), m, n, k, alpha, a, b, c));
    }
  }

  /** Products below this many multiply-adds run on the calling thread. */
  private static final long PARALLEL_WORK = 1L << 18;

  /** Rows {@code [from, to)} of C += alpha·op(A)·op(B). */
  private static void rows(boolean transA, boolean transB, int from, int to, int m, int n, int k, float alpha,
      float[] a, float[] b, float[] c) {
    if (!transA && !transB) {
      for (int i = from; i < to; i++) {
        int ci = i * n;
        for (int p = 0; p < k; p++) {
          float aip = alpha * a[i * k + p];
          if (aip == 0f) continue;
          int bp = p * n;
          for (int j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    } else if (transA && !transB) {
      for (int p = 0; p < k; p++) {
        int bp = p * n;
        for (int i = from; i < to; i++) {
          float aip = alpha * a[p * m + i];
          if (aip == 0f) continue;
          int ci = i * n;
          for (int j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    } else if (!transA) {
      for (int i = from; i < to; i++) {
        int ai = i * k;
        for (int j = 0; j < n; j++) {
          int bj = j * k;
          float s = 0f;
          for (int p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
          c[i * n + j] += alpha * s;
        }
      }
    } else {
      for (int i = from; i < to; i++) {
        for (int j = 0; j < n; j++) {
          float s = 0f;
          for (int p = 0; p < k; p++) s += a[p * m + i] * b[j * k + p];
          c[i * n + j] += alpha * s;
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

  private static void scale(float[] c, int len, float beta) {
    if (beta == 1f) return;
    if (beta == 0f) {
      java.util.Arrays.fill(c, 0, len, 0f);
    } else {
      for (int i = 0; i < len; i++) c[i] *= beta;
    }
  }
}
