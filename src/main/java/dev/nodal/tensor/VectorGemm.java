package dev.nodal.tensor;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C = alpha·op(A)·op(B) + beta·C} on the Vector API, Goto style: for each block of
 * {@link #KC} steps of the common dimension, op(A) is packed into panels of {@link #MR} rows and
 * op(B) into panels of {@code NR} = 3 vectors of columns (transposes are absorbed by the packing),
 * then a register-blocked micro-kernel keeps an MR×NR tile of C in 12 vector accumulators while
 * it walks the block. Tiles are split over threads by column panels or by row panels, each thread
 * packing its own operands; each tile of C is computed by one thread in a fixed order, so results
 * do not depend on the number of threads.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link Blas});
 * packing buffers come from a {@link Scratch} pool and are reused, so products allocate no
 * buffers once warm.
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

  /** Packing buffers and a tile of accumulators per running task (see {@link Scratch}). */
  private static final Scratch SCRATCH = new Scratch(3);

  /** Floats per vector, for messages and benchmarks. */
  static int lanes() {
    return VL;
  }

  static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, float[] b,
      int bOff, float beta, float[] c, int cOff, Epilogue e, int threads) {
    Blas.scale(c, cOff, m * n, beta);
    if (k == 0 || alpha == 0f) {
      if (!e.isNone()) e.apply(c, cOff, n, 0, m, 0, n);
      return;
    }
    int mPanels = (m + MR - 1) / MR, nPanels = (n + NR - 1) / NR;
    // Each task owns a range of column panels of C, or of row panels, whichever splits more evenly
    // (on a tie: the one whose operand every task packs whole is the smaller). A task packs its own
    // operands for every block of K, so the threads meet once per product, not once per block.
    int tasks = Math.max(1, Math.min(threads, Math.max(mPanels, nPanels)));
    boolean byRows = tasks > 1 && splitByRows(mPanels, nPanels, tasks, m, n);
    if (tasks == 1) {
      block(0, mPanels, 0, nPanels, transA, transB, m, n, k, alpha, a, aOff, b, bOff, c, cOff, e);
      return;
    }
    int parts = byRows ? mPanels : nPanels, used = Math.min(tasks, parts);
    IntStream.range(0, used).parallel().forEach(t -> {
      int from = parts * t / used, to = parts * (t + 1) / used;
      if (byRows) block(from, to, 0, nPanels, transA, transB, m, n, k, alpha, a, aOff, b, bOff, c, cOff, e);
      else block(0, mPanels, from, to, transA, transB, m, n, k, alpha, a, aOff, b, bOff, c, cOff, e);
    });
  }

  /** True when splitting C's row panels over the tasks balances better than splitting its column panels. */
  static boolean splitByRows(int mPanels, int nPanels, int tasks, int m, int n) {
    // The busiest task's share of the panels, relative to an even split (1 is perfect).
    double rows = Math.ceil((double) mPanels / tasks) * tasks / mPanels;
    double cols = Math.ceil((double) nPanels / tasks) * tasks / nPanels;
    if (rows != cols) return rows < cols;
    return n < m; // splitting rows packs all of op(B) in every task: better when it is the smaller
  }

  /**
   * The tiles of row panels {@code [ip0, ip1)} × column panels {@code [jp0, jp1)} of C, on this
   * thread: per block of K, its rows of op(A) and its columns of op(B) are packed into this
   * thread's buffers, then multiplied tile by tile; the last block applies the epilogue.
   */
  private static void block(int ip0, int ip1, int jp0, int jp1, boolean transA, boolean transB, int m, int n, int k,
      float alpha, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff, Epilogue e) {
    float[][] scratch = SCRATCH.take();
    float[] ap = Scratch.grow(scratch, 0, (ip1 - ip0) * MR * KC), bp = Scratch.grow(scratch, 1, (jp1 - jp0) * NR * KC);
    float[] tile = Scratch.grow(scratch, 2, MR * NR);
    for (int p0 = 0; p0 < k; p0 += KC) {
      int kc = Math.min(KC, k - p0);
      packA(transA, m, k, a, aOff, p0, kc, ap, ip0 * MR, Math.min(m, ip1 * MR));
      packB(transB, n, k, b, bOff, p0, kc, bp, jp0 * NR, Math.min(n, jp1 * NR));
      panels(ip0, ip1, jp0, jp1, m, n, kc, alpha, ap, bp, c, cOff, tile, p0 + kc == k ? e : Epilogue.NONE);
    }
    SCRATCH.give(scratch);
  }

  /**
   * op(A)[i][p0 + p] for the rows {@code [from, to)} into
   * {@code ap[((i − from) / MR · kc + p)·MR + i % MR]}, zero past the last row.
   */
  private static void packA(boolean trans, int m, int k, float[] a, int off, int p0, int kc, float[] ap, int from,
      int to) {
    for (int i0 = from; i0 < to; i0 += MR) {
      int base = ((i0 - from) / MR) * kc * MR;
      for (int p = 0; p < kc; p++) {
        for (int r = 0; r < MR; r++) {
          int i = i0 + r;
          ap[base + p * MR + r] = i >= to ? 0f : trans ? a[off + (p0 + p) * m + i] : a[off + i * k + p0 + p];
        }
      }
    }
  }

  /**
   * op(B)[p0 + p][j] for the columns {@code [from, to)} into
   * {@code bp[((j − from) / NR · kc + p)·NR + j % NR]}, zero past the last column.
   */
  private static void packB(boolean trans, int n, int k, float[] b, int off, int p0, int kc, float[] bp, int from,
      int to) {
    for (int j0 = from; j0 < to; j0 += NR) {
      int base = ((j0 - from) / NR) * kc * NR, w = Math.min(NR, to - j0);
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

  /** Every tile of row panels {@code [ip0, ip1)} × column panels {@code [jp0, jp1)}, from the packed block. */
  private static void panels(int ip0, int ip1, int jp0, int jp1, int m, int n, int kc, float alpha, float[] ap,
      float[] bp, float[] c, int cOff, float[] edge, Epilogue e) {
    for (int i0 = ip0; i0 < ip1; i0 += MC_PANELS) {
      int i1 = Math.min(ip1, i0 + MC_PANELS);
      for (int jp = jp0; jp < jp1; jp++) {
        for (int ip = i0; ip < i1; ip++) {
          tile(kc, alpha, ap, (ip - ip0) * kc * MR, bp, (jp - jp0) * kc * NR, c, cOff, m, n, ip * MR, jp * NR, edge, e);
        }
      }
    }
  }

  /**
   * C[i0.., j0..] += alpha · (MR×kc panel) · (kc×NR panel), through 12 accumulators, then the
   * epilogue on that tile ({@link Epilogue#NONE} but in the last block of K). A bias and ReLU are
   * applied in the same vector pass as the sum; sigmoid and tanh per element on the tile.
   */
  private static void tile(int kc, float alpha, float[] ap, int ao, float[] bp, int bo, float[] c, int cOff, int m,
      int n, int i0, int j0, float[] acc, Epilogue e) {
    kernel(kc, ap, ao, bp, bo, acc);
    if (i0 + MR <= m && j0 + NR <= n) {
      float[] bias = e.bias();
      boolean relu = e.activation() == FusedActivation.RELU;
      for (int r = 0; r < MR; r++) {
        int at = cOff + (i0 + r) * n + j0;
        for (int v = 0; v < NR; v += VL) {
          FloatVector sum = FloatVector.fromArray(S, c, at + v).add(FloatVector.fromArray(S, acc, r * NR + v).mul(alpha));
          if (bias != null) {
            sum = sum.add(e.perRow() ? FloatVector.broadcast(S, bias[e.biasOffset() + i0 + r])
                : FloatVector.fromArray(S, bias, e.biasOffset() + j0 + v));
          }
          if (relu) sum = sum.max(0f);
          sum.intoArray(c, at + v);
        }
      }
      if (!relu && e.activation() != FusedActivation.NONE) {
        Epilogue.activate(e.activation(), c, cOff, n, i0, i0 + MR, j0, j0 + NR);
      }
      return;
    }
    for (int r = 0; r < MR && i0 + r < m; r++) {
      for (int j = 0; j < NR && j0 + j < n; j++) c[cOff + (i0 + r) * n + j0 + j] += alpha * acc[r * NR + j];
    }
    if (!e.isNone()) e.apply(c, cOff, n, i0, Math.min(m, i0 + MR), j0, Math.min(n, j0 + NR));
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
