package dev.nodal.tensor;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C = alpha·op(A)·op(B) + beta·C} on the Vector API, Goto style: for each block of
 * {@link #KC} steps of the common dimension, op(A) is packed into panels of {@link #MR} rows and
 * op(B) into panels of {@code NR} = 3 vectors of columns (transposes are absorbed by the packing),
 * then a register-blocked micro-kernel keeps an MR×NR tile of C in 12 vector accumulators while
 * it walks the block. Tiles are split over threads by column panels; each tile of C is computed
 * by one thread in a fixed order, so results do not depend on the number of threads.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link Blas});
 * packing buffers are per thread and reused, so a step allocates nothing once warm.
 */
final class VectorGemm {
  private VectorGemm() {}

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int VL = S.length();
  static final int MR = 4;
  static final int NR = 3 * VL;
  static final int KC = Integer.getInteger("nodal.gemm.kc", 128);
  /** Row panels of A per block: a block of MC_PANELS·MR rows × KC stays in the L2 cache. */
  static final int MC_PANELS = Integer.getInteger("nodal.gemm.mcp", 48);

  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][]);

  /** Floats per vector, for messages and benchmarks. */
  static int lanes() {
    return VL;
  }

  static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, float[] b,
      int bOff, float beta, float[] c, int cOff, int threads) {
    Blas.scale(c, cOff, m * n, beta);
    if (k == 0 || alpha == 0f) return;
    int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
    float[][] scratch = SCRATCH.get();
    float[] ap = grow(scratch, 0, mPanels * MR * KC), bp = grow(scratch, 1, nPanels * NR * KC);
    int tasks = Math.max(1, Math.min(threads, nPanels));
    for (int p0 = 0; p0 < k; p0 += KC) {
      int kc = Math.min(KC, k - p0);
      packA(transA, m, k, a, aOff, p0, kc, ap);
      packB(transB, n, k, b, bOff, p0, kc, bp);
      if (tasks == 1) {
        panels(0, nPanels, mPanels, m, n, kc, alpha, ap, bp, c, cOff);
      } else {
        int kcf = kc;
        IntStream.range(0, tasks).parallel().forEach(t -> panels(nPanels * t / tasks, nPanels * (t + 1) / tasks,
            mPanels, m, n, kcf, alpha, ap, bp, c, cOff));
      }
    }
  }

  private static float[] grow(float[][] scratch, int i, int size) {
    if (scratch[i] == null || scratch[i].length < size) scratch[i] = new float[size];
    return scratch[i];
  }

  /** op(A)[i][p0 + p] into {@code ap[(panel·kc + p)·MR + i % MR]}, zero past row m. */
  private static void packA(boolean trans, int m, int k, float[] a, int off, int p0, int kc, float[] ap) {
    for (int i0 = 0; i0 < m; i0 += MR) {
      int base = (i0 / MR) * kc * MR;
      for (int p = 0; p < kc; p++) {
        for (int r = 0; r < MR; r++) {
          int i = i0 + r;
          ap[base + p * MR + r] = i >= m ? 0f : trans ? a[off + (p0 + p) * m + i] : a[off + i * k + p0 + p];
        }
      }
    }
  }

  /** op(B)[p0 + p][j] into {@code bp[(panel·kc + p)·NR + j % NR]}, zero past column n. */
  private static void packB(boolean trans, int n, int k, float[] b, int off, int p0, int kc, float[] bp) {
    for (int j0 = 0; j0 < n; j0 += NR) {
      int base = (j0 / NR) * kc * NR, w = Math.min(NR, n - j0);
      for (int p = 0; p < kc; p++) {
        int dst = base + p * NR;
        if (trans) {
          for (int j = 0; j < w; j++) bp[dst + j] = b[off + (j0 + j) * k + p0 + p];
        } else {
          System.arraycopy(b, off + (p0 + p) * n + j0, bp, dst, w);
        }
        for (int j = w; j < NR; j++) bp[dst + j] = 0f;
      }
    }
  }

  /** Every tile of the column panels {@code [from, to)}. */
  private static void panels(int from, int to, int mPanels, int m, int n, int kc, float alpha, float[] ap, float[] bp,
      float[] c, int cOff) {
    float[] edge = grow(SCRATCH.get(), 2, MR * NR); // this thread's tile of accumulators
    for (int i0 = 0; i0 < mPanels; i0 += MC_PANELS) {
      int i1 = Math.min(mPanels, i0 + MC_PANELS);
      for (int jp = from; jp < to; jp++) {
        for (int ip = i0; ip < i1; ip++) {
          tile(kc, alpha, ap, ip * kc * MR, bp, jp * kc * NR, c, cOff, m, n, ip * MR, jp * NR, edge);
        }
      }
    }
  }

  /** C[i0.., j0..] += alpha · (MR×kc panel) · (kc×NR panel), through 12 accumulators. */
  private static void tile(int kc, float alpha, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int m,
      int n, int i0, int j0, float[] acc) {
    kernel(kc, ap, ao, bp, bo, acc);
    if (i0 + MR <= m && j0 + NR <= n) {
      for (int r = 0; r < MR; r++) {
        int at = cOff + (i0 + r) * n + j0;
        for (int v = 0; v < NR; v += VL) {
          FloatVector.fromArray(S, c, at + v).add(FloatVector.fromArray(S, acc, r * NR + v).mul(alpha)).intoArray(c, at + v);
        }
      }
      return;
    }
    for (int r = 0; r < MR && i0 + r < m; r++) {
      for (int j = 0; j < NR && j0 + j < n; j++) c[cOff + (i0 + r) * n + j0 + j] += alpha * acc[r * NR + j];
    }
  }

  /** {@code acc [MR][NR]} = (MR×kc panel) · (kc×NR panel): the register-blocked inner loop. */
  private static void kernel(int kc, float[] ap, int ao, float[] bp, int bo, float[] acc) {
    FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S);
    FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S);
    FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S);
    for (int p = 0; p < kc; p++) {
      int bi = bo + p * NR, ai = ao + p * MR;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi), b1 = FloatVector.fromArray(S, bp, bi + VL);
      FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * VL);
      FloatVector a0 = FloatVector.broadcast(S, ap[ai]);
      c00 = a0.fma(b0, c00);
      c01 = a0.fma(b1, c01);
      c02 = a0.fma(b2, c02);
      FloatVector a1 = FloatVector.broadcast(S, ap[ai + 1]);
      c10 = a1.fma(b0, c10);
      c11 = a1.fma(b1, c11);
      c12 = a1.fma(b2, c12);
      FloatVector a2 = FloatVector.broadcast(S, ap[ai + 2]);
      c20 = a2.fma(b0, c20);
      c21 = a2.fma(b1, c21);
      c22 = a2.fma(b2, c22);
      FloatVector a3 = FloatVector.broadcast(S, ap[ai + 3]);
      c30 = a3.fma(b0, c30);
      c31 = a3.fma(b1, c31);
      c32 = a3.fma(b2, c32);
    }
    c00.intoArray(acc, 0);
    c01.intoArray(acc, VL);
    c02.intoArray(acc, 2 * VL);
    c10.intoArray(acc, NR);
    c11.intoArray(acc, NR + VL);
    c12.intoArray(acc, NR + 2 * VL);
    c20.intoArray(acc, 2 * NR);
    c21.intoArray(acc, 2 * NR + VL);
    c22.intoArray(acc, 2 * NR + 2 * VL);
    c30.intoArray(acc, 3 * NR);
    c31.intoArray(acc, 3 * NR + VL);
    c32.intoArray(acc, 3 * NR + 2 * VL);
  }

}
