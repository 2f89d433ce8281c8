package dev.nodal.backend.cpu;

/**
 * The few dense linear-algebra loops the CPU backend needs, on row-major float arrays. Loops are
 * ordered so that the innermost one walks contiguous memory, which the JIT vectorises.
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
    if (!transA && !transB) {
      for (int i = 0; i < m; i++) {
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
        for (int i = 0; i < m; i++) {
          float aip = alpha * a[p * m + i];
          if (aip == 0f) continue;
          int ci = i * n;
          for (int j = 0; j < n; j++) c[ci + j] += aip * b[bp + j];
        }
      }
    } else if (!transA) {
      for (int i = 0; i < m; i++) {
        int ai = i * k;
        for (int j = 0; j < n; j++) {
          int bj = j * k;
          float s = 0f;
          for (int p = 0; p < k; p++) s += a[ai + p] * b[bj + p];
          c[i * n + j] += alpha * s;
        }
      }
    } else {
      for (int i = 0; i < m; i++) {
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
