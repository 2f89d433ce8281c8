package dev.nodal.tensor;

import java.util.stream.IntStream;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * {@code C = alpha·op(A)·op(B) + beta·C} on the Vector API, Goto style: for each block of
 * {@link #KC} steps of the common dimension, op(B) is packed into panels of NR columns (its
 * transpose absorbed by the packing), then a register-blocked micro-kernel keeps an MR×NR tile of
 * C in vector accumulators while it walks the block, reading MR rows of op(A) where they lie
 * (either layout: a stride per row and a stride per step). Two
 * micro-kernels ({@link Micro}): 4 rows × 3 vectors (12 accumulators), and, where the CPU has 32
 * vector registers of 512 bits, 6 rows × 4 vectors (24) for products wide enough to fill it and
 * 8 rows × 2 vectors (16) for products whose width 3 vectors would pad (attention's heads of 32
 * or 64 features), and 6 rows × 2 vectors where there are 16 registers. Tiles are split over
 * threads by column panels or by row panels, each thread packing its own part of op(B); each tile of C is computed by one thread in a fixed order, so results
 * do not depend on the number of threads.
 *
 * <p>Loaded only when the {@code jdk.incubator.vector} module is present (see {@link CpuContext});
 * packing buffers are the caller's, kept per thread ({@link ThreadBuffers}) and reused, so products
 * allocate no buffers once warm. Holds no state of its own.
 */
final class VectorGemm {
  private VectorGemm() {}

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final int VL = S.length();
  /**
   * The most steps of the common dimension per packed block; K is cut into blocks of equal size
   * (784 into 4 of 196, not 3 of 256 and one of 16). Measured at 1024² on 2 threads, 4 rounds:
   * 256 and 384 took 0.80–0.92× the time of 128 on AVX2 and 0.91–0.97× on AVX-512 (C is read and
   * written once per block).
   */
  static final int KC = 256;
  /** Row panels of A per block: a block of MC_PANELS·MR rows × KC stays in the L2 cache. */
  static final int MC_PANELS = 48;

  /** A micro-kernel's tile: {@code mr} rows × {@code nr} columns of C. */
  record Micro(int mr, int nr) {}

  /** 4 rows × 3 vectors: 12 accumulators, 3 loads and 4 broadcasts per 12 FMAs. */
  static final Micro NARROW = new Micro(4, 3 * VL);
  /** 6 rows × 4 vectors: 24 accumulators, 4 loads and 6 broadcasts per 24 FMAs. */
  static final Micro WIDE = new Micro(6, 4 * VL);
  /** 8 rows × 2 vectors: 16 accumulators, 2 loads and 8 broadcasts per 16 FMAs. */
  static final Micro TALL = new Micro(8, 2 * VL);
  /** 6 rows × 2 vectors: 12 accumulators, 2 loads and 6 broadcasts per 12 FMAs (BLIS's Haswell tile). */
  static final Micro SHORT = new Micro(6, 2 * VL);
  /** Every micro-kernel, for tests that run each. */
  static final java.util.List<Micro> ALL = java.util.List.of(NARROW, SHORT, WIDE, TALL);

  /**
   * The vector registers the JIT allocates: 32 on AArch64 and where HotSpot uses AVX-512's
   * encoding ({@code -XX:UseAVX=3}, the default on CPUs that have it), else 16 (AVX2, AVX, SSE,
   * and any CPU this cannot tell). HotSpot's own flags tell the architecture: {@code UseAVX}
   * exists on x86 only, {@code UseSVE} on AArch64 only.
   */
  static final int REGISTERS = vectorRegisters();

  private static int vectorRegisters() {
    com.sun.management.HotSpotDiagnosticMXBean vm;
    try {
      vm = java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.HotSpotDiagnosticMXBean.class);
    } catch (RuntimeException | LinkageError e) { // not HotSpot: judge by the vector width
      return S.vectorBitSize() >= 512 ? 32 : 16;
    }
    try {
      return Integer.parseInt(vm.getVMOption("UseAVX").getValue()) >= 3 ? 32 : 16;
    } catch (IllegalArgumentException notX86) { // no such flag (NumberFormatException too: no number)
      try {
        vm.getVMOption("UseSVE");
        return 32;
      } catch (IllegalArgumentException notAArch64) {
        return 16;
      }
    }
  }

  /**
   * The micro-kernel for an M×N product under {@code choice}. {@link #WIDE} needs 24 accumulators
   * and 5 more registers, {@link #TALL} 16 and 3 more, {@link #NARROW} 12 and 4 more: with 16
   * registers they spill, and every product takes {@link #SHORT} (12 and 3 more; measured on
   * AVX2, {@code -XX:UseAVX=2}: 1.5–2× the speed of 4×3). With 32, {@code AUTO} takes the tile
   * that pads C least, {@link #WIDE} also when it pads at most 5% more than the best (its tile
   * does the most work per load), and {@link #NARROW} on a tie with {@link #TALL}: at N = 128, 6×4
   * beat 4×3 by 5–20%; at N = 32, 8×2 beat 4×3 by 30–50%. A forced choice
   * ({@link CpuOptions.Microkernel}, for benchmarks and tests) is taken but for 6×4 and 8×2
   * without the registers, which take 6×2.
   */
  static Micro micro(CpuOptions.Microkernel choice, int m, int n) {
    if (choice == CpuOptions.Microkernel.NARROW_4X3) return NARROW;
    if (choice == CpuOptions.Microkernel.SHORT_6X2 || REGISTERS < 32) return SHORT;
    if (choice == CpuOptions.Microkernel.WIDE_6X4) return WIDE;
    if (choice == CpuOptions.Microkernel.TALL_8X2) return TALL;
    long narrow = padded(NARROW, m, n), tall = padded(TALL, m, n);
    if (padded(WIDE, m, n) <= 1.05 * Math.min(narrow, tall)) return WIDE;
    return tall < narrow ? TALL : NARROW;
  }

  /** The elements of C that tiles of {@code u} cover, padding included. */
  private static long padded(Micro u, int m, int n) {
    return (long) ((m + u.mr - 1) / u.mr * u.mr) * ((n + u.nr - 1) / u.nr * u.nr);
  }

  /**
   * The vectors, registers and tiles under {@code choice}, for {@code nodal devices} and
   * benchmarks: "512-bit vectors (16 floats), 32 registers: 6x4, 8x2 or 4x3 tiles by shape".
   */
  static String describe(CpuOptions.Microkernel choice) {
    String tiles;
    if (choice == CpuOptions.Microkernel.AUTO) tiles = REGISTERS >= 32 ? "6x4, 8x2 or 4x3 tiles by shape" : "6x2 tiles";
    else tiles = name(micro(choice, 1, 1)) + " tiles (" + choice.text() + " asked)";
    return String.format(java.util.Locale.ROOT, "%d-bit vectors (%d floats), %d registers: %s", S.vectorBitSize(), VL,
        REGISTERS, tiles);
  }

  private static String name(Micro u) {
    return u.mr + "x" + u.nr / VL;
  }

  /** Floats per vector, for messages and benchmarks. */
  static int lanes() {
    return VL;
  }

  /**
   * {@code C = alpha·op(A)·op(B) + beta·C} then the epilogue, on the micro-kernel {@code choice}
   * picks, packing into {@code buffers} (three arrays per thread), on up to {@code threads} threads.
   */
  static void gemm(CpuOptions.Microkernel choice, ThreadBuffers buffers, boolean transA, boolean transB, int m, int n,
      int k, float alpha, float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff, Epilogue e,
      int threads) {
    gemm(micro(choice, m, n), buffers, transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff, e, threads);
  }

  /** As above, on the micro-kernel {@code u} (tests run both). */
  static void gemm(Micro u, ThreadBuffers buffers, boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff, Epilogue e, int threads) {
    if (k == 0 || alpha == 0f) {
      Blas.scale(c, cOff, m * n, beta);
      if (!e.isNone()) e.apply(c, cOff, n, 0, m, 0, n);
      return;
    }
    // With beta 0 the first block of K sets C instead of adding to it: no pass to zero C first.
    boolean set = beta == 0f;
    if (!set) Blas.scale(c, cOff, m * n, beta);
    int mPanels = (m + u.mr - 1) / u.mr, nPanels = (n + u.nr - 1) / u.nr;
    // Each task owns a range of column panels of C, or of row panels, whichever splits more evenly
    // (on a tie: see splitByRows). A task packs its own columns of op(B) for every block of K, so the
    // threads meet once per product, not once per block.
    int tasks = Math.max(1, Math.min(threads, Math.max(mPanels, nPanels)));
    boolean byRows = tasks > 1 && splitByRows(mPanels, nPanels, tasks, m, n);
    if (tasks == 1) {
      block(u, buffers, 0, mPanels, 0, nPanels, transA, transB, m, n, k, alpha, a, aOff, b, bOff, c, cOff, e, set);
      return;
    }
    int parts = byRows ? mPanels : nPanels, used = Math.min(tasks, parts);
    IntStream.range(0, used).parallel().forEach(t -> {
      int from = parts * t / used, to = parts * (t + 1) / used;
      if (byRows) block(u, buffers, from, to, 0, nPanels, transA, transB, m, n, k, alpha, a, aOff, b, bOff, c, cOff, e, set);
      else block(u, buffers, 0, mPanels, from, to, transA, transB, m, n, k, alpha, a, aOff, b, bOff, c, cOff, e, set);
    });
  }

  /** True when splitting C's row panels over the tasks balances better than splitting its column panels. */
  static boolean splitByRows(int mPanels, int nPanels, int tasks, int m, int n) {
    // The busiest task's share of the panels, relative to an even split (1 is perfect).
    double rows = Math.ceil((double) mPanels / tasks) * tasks / mPanels;
    double cols = Math.ceil((double) nPanels / tasks) * tasks / nPanels;
    if (rows != cols) return rows < cols;
    // Splitting rows packs all of op(B) in every task, splitting columns only a task's share (op(A)
    // is read in place either way): rows only when op(B) is the narrower side.
    return n < m;
  }

  /**
   * The tiles of row panels {@code [ip0, ip1)} × column panels {@code [jp0, jp1)} of C, on this
   * thread: per block of K, its columns of op(B) are packed into this thread's set of
   * {@code buffers}, then multiplied tile by tile; the first block sets C where {@code set} says so
   * (beta 0), and the last block applies the epilogue. The micro-kernels read op(A) where it lies,
   * a row panel's element (r, p) at {@code rowStride·r + stepStride·p} (the rows of a panel and a
   * block of K stay in the L1 and L2 caches as a packed panel would); only a last panel short of mr
   * rows is packed, padded with zeros. Where op(B) is a few panels wide (a transformer's products),
   * packing A had cost 0.8 of the micro-kernels' own time (JFR of the gpt step: 607 samples against
   * 765).
   */
  private static void block(Micro u, ThreadBuffers buffers, int ip0, int ip1, int jp0, int jp1, boolean transA,
      boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, float[] b, int bOff, float[] c, int cOff,
      Epilogue e, boolean set) {
    float[][] own = buffers.set();
    int step = blockSteps(k);
    float[] ap = ThreadBuffers.grow(own, 0, u.mr * step), bp = ThreadBuffers.grow(own, 1, (jp1 - jp0) * u.nr * step);
    float[] tile = ThreadBuffers.grow(own, 2, u.mr * u.nr);
    int rowStride = transA ? 1 : k, stepStride = transA ? m : 1;
    int short0 = m / u.mr * u.mr; // the first row of a panel short of mr rows, m when there is none
    boolean packShort = short0 < m && short0 >= ip0 * u.mr && short0 < ip1 * u.mr;
    for (int p0 = 0; p0 < k; p0 += step) {
      int kc = Math.min(step, k - p0);
      if (packShort) packRows(u.mr, rowStride, stepStride, a, aOff + p0 * stepStride, kc, ap, short0, m);
      packB(u.nr, transB, n, k, b, bOff, p0, kc, bp, jp0 * u.nr, Math.min(n, jp1 * u.nr));
      panels(u, ip0, ip1, jp0, jp1, m, n, kc, alpha, a, aOff + p0 * stepStride, rowStride, stepStride, ap, bp, c,
          cOff, tile, p0 + kc == k ? e : Epilogue.NONE, set && p0 == 0);
    }
  }

  /** The steps of K per block: K cut into the fewest blocks of at most {@link #KC}, of equal size but for the last. */
  static int blockSteps(int k) {
    int blocks = (k + KC - 1) / KC;
    return (k + blocks - 1) / blocks;
  }

  /**
   * op(A)'s rows {@code [from, to)} (fewer than mr) of a block of kc steps, element (i, p) at
   * {@code off + i·rowStride + p·stepStride}, into {@code ap[p·mr + i − from]}, zero past the last row.
   */
  private static void packRows(int mr, int rowStride, int stepStride, float[] a, int off, int kc, float[] ap, int from,
      int to) {
    for (int p = 0; p < kc; p++) {
      for (int r = 0; r < mr; r++) ap[p * mr + r] = from + r < to ? a[off + (from + r) * rowStride + p * stepStride] : 0f;
    }
  }

  /**
   * op(B)[p0 + p][j] for the columns {@code [from, to)} into
   * {@code bp[((j − from) / nr · kc + p)·nr + j % nr]}, zero past the last column.
   */
  private static void packB(int nr, boolean trans, int n, int k, float[] b, int off, int p0, int kc, float[] bp,
      int from, int to) {
    for (int j0 = from; j0 < to; j0 += nr) {
      int base = ((j0 - from) / nr) * kc * nr, w = Math.min(nr, to - j0);
      if (trans) { // each column of the panel read in one run (a row of B), written every nr floats
        for (int j = 0; j < w; j++) {
          int src = off + (j0 + j) * k + p0;
          for (int p = 0; p < kc; p++) bp[base + p * nr + j] = b[src + p];
        }
      }
      for (int p = 0; p < kc; p++) {
        int dst = base + p * nr;
        if (!trans) System.arraycopy(b, off + (p0 + p) * n + j0, bp, dst, w);
        for (int j = w; j < nr; j++) bp[dst + j] = 0f;
      }
    }
  }

  /**
   * Every tile of row panels {@code [ip0, ip1)} × column panels {@code [jp0, jp1)}: op(A)'s panels
   * read in place from {@code a}, the short one from {@code ap}; op(B)'s from the packed block.
   */
  private static void panels(Micro u, int ip0, int ip1, int jp0, int jp1, int m, int n, int kc, float alpha, float[] a,
      int aOff, int rowStride, int stepStride, float[] ap, float[] bp, float[] c, int cOff, float[] acc, Epilogue e,
      boolean set) {
    int full = m / u.mr; // panels of mr rows; one past them is the short one
    for (int i0 = ip0; i0 < ip1; i0 += MC_PANELS) {
      int i1 = Math.min(ip1, i0 + MC_PANELS);
      for (int jp = jp0; jp < jp1; jp++) {
        int bo = (jp - jp0) * kc * u.nr;
        for (int ip = i0; ip < i1; ip++) {
          if (ip < full) {
            tile(u, kc, alpha, a, aOff + ip * u.mr * rowStride, rowStride, stepStride, bp, bo, c, cOff, m, n, ip * u.mr,
                jp * u.nr, acc, e, set);
          } else {
            tile(u, kc, alpha, ap, 0, 1, u.mr, bp, bo, c, cOff, m, n, ip * u.mr, jp * u.nr, acc, e, set);
          }
        }
      }
    }
  }

  /**
   * C[i0.., j0..] += alpha · (mr×kc panel of op(A), element (r, p) at {@code ao + r·rs + p·ps} of
   * {@code a}) · (kc×nr packed panel), through the micro-kernel's
   * accumulators (C = alpha · … where {@code set}: the first block of a product with beta 0), then
   * the epilogue on that tile ({@link Epilogue#NONE} but in the last block of K). A bias and ReLU are applied in the same
   * vector pass as the sum; sigmoid and tanh per element on the tile.
   */
  private static void tile(Micro u, int kc, float alpha, float[] a, int ao, int rs, int ps, float[] bp, int bo, float[] c, int cOff,
      int m, int n, int i0, int j0, float[] acc, Epilogue e, boolean set) {
    if (u == WIDE) kernel6x4(kc, a, ao, rs, ps, bp, bo, acc);
    else if (u == TALL) kernel8x2(kc, a, ao, rs, ps, bp, bo, acc);
    else if (u == SHORT) kernel6x2(kc, a, ao, rs, ps, bp, bo, acc);
    else kernel4x3(kc, a, ao, rs, ps, bp, bo, acc);
    int mr = u.mr, nr = u.nr;
    if (i0 + mr <= m && j0 + nr <= n) {
      float[] bias = e.bias();
      boolean relu = e.activation() == FusedActivation.RELU;
      for (int r = 0; r < mr; r++) {
        int at = cOff + (i0 + r) * n + j0;
        for (int v = 0; v < nr; v += VL) {
          FloatVector product = FloatVector.fromArray(S, acc, r * nr + v).mul(alpha);
          FloatVector sum = set ? product : FloatVector.fromArray(S, c, at + v).add(product);
          if (bias != null) {
            sum = sum.add(e.perRow() ? FloatVector.broadcast(S, bias[e.biasOffset() + i0 + r])
                : FloatVector.fromArray(S, bias, e.biasOffset() + j0 + v));
          }
          if (relu) sum = sum.max(0f);
          sum.intoArray(c, at + v);
        }
      }
      if (!relu && e.activation() != FusedActivation.NONE) {
        Epilogue.activate(e.activation(), c, cOff, n, i0, i0 + mr, j0, j0 + nr);
      }
      return;
    }
    for (int r = 0; r < mr && i0 + r < m; r++) {
      for (int j = 0; j < nr && j0 + j < n; j++) {
        int at = cOff + (i0 + r) * n + j0 + j;
        c[at] = set ? alpha * acc[r * nr + j] : c[at] + alpha * acc[r * nr + j];
      }
    }
    if (!e.isNone()) e.apply(c, cOff, n, i0, Math.min(m, i0 + mr), j0, Math.min(n, j0 + nr));
  }

  /** {@code acc [4][3 vectors]} = (4×kc panel) · (kc×3-vector panel): the register-blocked inner loop. */
  private static void kernel4x3(int kc, float[] a, int ao, int rs, int ps, float[] bp, int bo, float[] acc) {
    FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S);
    FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S);
    FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S);
    for (int p = 0; p < kc; p++) {
      int bi = bo + p * 3 * VL, ai = ao + p * ps;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi + 0 * VL);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * VL);
      FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * VL);
      FloatVector a0 = FloatVector.broadcast(S, a[ai]);
      c00 = a0.fma(b0, c00);
      c01 = a0.fma(b1, c01);
      c02 = a0.fma(b2, c02);
      FloatVector a1 = FloatVector.broadcast(S, a[ai + 1 * rs]);
      c10 = a1.fma(b0, c10);
      c11 = a1.fma(b1, c11);
      c12 = a1.fma(b2, c12);
      FloatVector a2 = FloatVector.broadcast(S, a[ai + 2 * rs]);
      c20 = a2.fma(b0, c20);
      c21 = a2.fma(b1, c21);
      c22 = a2.fma(b2, c22);
      FloatVector a3 = FloatVector.broadcast(S, a[ai + 3 * rs]);
      c30 = a3.fma(b0, c30);
      c31 = a3.fma(b1, c31);
      c32 = a3.fma(b2, c32);
    }
    c00.intoArray(acc, 0 * VL);
    c01.intoArray(acc, 1 * VL);
    c02.intoArray(acc, 2 * VL);
    c10.intoArray(acc, 3 * VL);
    c11.intoArray(acc, 4 * VL);
    c12.intoArray(acc, 5 * VL);
    c20.intoArray(acc, 6 * VL);
    c21.intoArray(acc, 7 * VL);
    c22.intoArray(acc, 8 * VL);
    c30.intoArray(acc, 9 * VL);
    c31.intoArray(acc, 10 * VL);
    c32.intoArray(acc, 11 * VL);
  }

  /** {@code acc [6][2 vectors]} = (6×kc panel) · (kc×2-vector panel): the register-blocked inner loop. */
  private static void kernel6x2(int kc, float[] a, int ao, int rs, int ps, float[] bp, int bo, float[] acc) {
    FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
    FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
    for (int p = 0; p < kc; p++) {
      int bi = bo + p * 2 * VL, ai = ao + p * ps;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + VL);
      FloatVector a0 = FloatVector.broadcast(S, a[ai]);
      c00 = a0.fma(b0, c00);
      c01 = a0.fma(b1, c01);
      FloatVector a1 = FloatVector.broadcast(S, a[ai + 1 * rs]);
      c10 = a1.fma(b0, c10);
      c11 = a1.fma(b1, c11);
      FloatVector a2 = FloatVector.broadcast(S, a[ai + 2 * rs]);
      c20 = a2.fma(b0, c20);
      c21 = a2.fma(b1, c21);
      FloatVector a3 = FloatVector.broadcast(S, a[ai + 3 * rs]);
      c30 = a3.fma(b0, c30);
      c31 = a3.fma(b1, c31);
      FloatVector a4 = FloatVector.broadcast(S, a[ai + 4 * rs]);
      c40 = a4.fma(b0, c40);
      c41 = a4.fma(b1, c41);
      FloatVector a5 = FloatVector.broadcast(S, a[ai + 5 * rs]);
      c50 = a5.fma(b0, c50);
      c51 = a5.fma(b1, c51);
    }
    c00.intoArray(acc, 0 * VL);
    c01.intoArray(acc, 1 * VL);
    c10.intoArray(acc, 2 * VL);
    c11.intoArray(acc, 3 * VL);
    c20.intoArray(acc, 4 * VL);
    c21.intoArray(acc, 5 * VL);
    c30.intoArray(acc, 6 * VL);
    c31.intoArray(acc, 7 * VL);
    c40.intoArray(acc, 8 * VL);
    c41.intoArray(acc, 9 * VL);
    c50.intoArray(acc, 10 * VL);
    c51.intoArray(acc, 11 * VL);
  }

  /** {@code acc [8][2 vectors]} = (8×kc panel) · (kc×2-vector panel): the register-blocked inner loop. */
  private static void kernel8x2(int kc, float[] a, int ao, int rs, int ps, float[] bp, int bo, float[] acc) {
    FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c10 = FloatVector.zero(S), c11 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c30 = FloatVector.zero(S), c31 = FloatVector.zero(S);
    FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c50 = FloatVector.zero(S), c51 = FloatVector.zero(S);
    FloatVector c60 = FloatVector.zero(S), c61 = FloatVector.zero(S), c70 = FloatVector.zero(S), c71 = FloatVector.zero(S);
    for (int p = 0; p < kc; p++) {
      int bi = bo + p * 2 * VL, ai = ao + p * ps;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + VL);
      FloatVector a0 = FloatVector.broadcast(S, a[ai]);
      c00 = a0.fma(b0, c00);
      c01 = a0.fma(b1, c01);
      FloatVector a1 = FloatVector.broadcast(S, a[ai + 1 * rs]);
      c10 = a1.fma(b0, c10);
      c11 = a1.fma(b1, c11);
      FloatVector a2 = FloatVector.broadcast(S, a[ai + 2 * rs]);
      c20 = a2.fma(b0, c20);
      c21 = a2.fma(b1, c21);
      FloatVector a3 = FloatVector.broadcast(S, a[ai + 3 * rs]);
      c30 = a3.fma(b0, c30);
      c31 = a3.fma(b1, c31);
      FloatVector a4 = FloatVector.broadcast(S, a[ai + 4 * rs]);
      c40 = a4.fma(b0, c40);
      c41 = a4.fma(b1, c41);
      FloatVector a5 = FloatVector.broadcast(S, a[ai + 5 * rs]);
      c50 = a5.fma(b0, c50);
      c51 = a5.fma(b1, c51);
      FloatVector a6 = FloatVector.broadcast(S, a[ai + 6 * rs]);
      c60 = a6.fma(b0, c60);
      c61 = a6.fma(b1, c61);
      FloatVector a7 = FloatVector.broadcast(S, a[ai + 7 * rs]);
      c70 = a7.fma(b0, c70);
      c71 = a7.fma(b1, c71);
    }
    c00.intoArray(acc, 0 * VL);
    c01.intoArray(acc, 1 * VL);
    c10.intoArray(acc, 2 * VL);
    c11.intoArray(acc, 3 * VL);
    c20.intoArray(acc, 4 * VL);
    c21.intoArray(acc, 5 * VL);
    c30.intoArray(acc, 6 * VL);
    c31.intoArray(acc, 7 * VL);
    c40.intoArray(acc, 8 * VL);
    c41.intoArray(acc, 9 * VL);
    c50.intoArray(acc, 10 * VL);
    c51.intoArray(acc, 11 * VL);
    c60.intoArray(acc, 12 * VL);
    c61.intoArray(acc, 13 * VL);
    c70.intoArray(acc, 14 * VL);
    c71.intoArray(acc, 15 * VL);
  }

  /** {@code acc [6][4 vectors]} = (6×kc panel) · (kc×4-vector panel): the register-blocked inner loop. */
  private static void kernel6x4(int kc, float[] a, int ao, int rs, int ps, float[] bp, int bo, float[] acc) {
    FloatVector c00 = FloatVector.zero(S), c01 = FloatVector.zero(S), c02 = FloatVector.zero(S), c03 = FloatVector.zero(S);
    FloatVector c10 = FloatVector.zero(S), c11 = FloatVector.zero(S), c12 = FloatVector.zero(S), c13 = FloatVector.zero(S);
    FloatVector c20 = FloatVector.zero(S), c21 = FloatVector.zero(S), c22 = FloatVector.zero(S), c23 = FloatVector.zero(S);
    FloatVector c30 = FloatVector.zero(S), c31 = FloatVector.zero(S), c32 = FloatVector.zero(S), c33 = FloatVector.zero(S);
    FloatVector c40 = FloatVector.zero(S), c41 = FloatVector.zero(S), c42 = FloatVector.zero(S), c43 = FloatVector.zero(S);
    FloatVector c50 = FloatVector.zero(S), c51 = FloatVector.zero(S), c52 = FloatVector.zero(S), c53 = FloatVector.zero(S);
    for (int p = 0; p < kc; p++) {
      int bi = bo + p * 4 * VL, ai = ao + p * ps;
      FloatVector b0 = FloatVector.fromArray(S, bp, bi + 0 * VL);
      FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * VL);
      FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * VL);
      FloatVector b3 = FloatVector.fromArray(S, bp, bi + 3 * VL);
      FloatVector a0 = FloatVector.broadcast(S, a[ai]);
      c00 = a0.fma(b0, c00);
      c01 = a0.fma(b1, c01);
      c02 = a0.fma(b2, c02);
      c03 = a0.fma(b3, c03);
      FloatVector a1 = FloatVector.broadcast(S, a[ai + 1 * rs]);
      c10 = a1.fma(b0, c10);
      c11 = a1.fma(b1, c11);
      c12 = a1.fma(b2, c12);
      c13 = a1.fma(b3, c13);
      FloatVector a2 = FloatVector.broadcast(S, a[ai + 2 * rs]);
      c20 = a2.fma(b0, c20);
      c21 = a2.fma(b1, c21);
      c22 = a2.fma(b2, c22);
      c23 = a2.fma(b3, c23);
      FloatVector a3 = FloatVector.broadcast(S, a[ai + 3 * rs]);
      c30 = a3.fma(b0, c30);
      c31 = a3.fma(b1, c31);
      c32 = a3.fma(b2, c32);
      c33 = a3.fma(b3, c33);
      FloatVector a4 = FloatVector.broadcast(S, a[ai + 4 * rs]);
      c40 = a4.fma(b0, c40);
      c41 = a4.fma(b1, c41);
      c42 = a4.fma(b2, c42);
      c43 = a4.fma(b3, c43);
      FloatVector a5 = FloatVector.broadcast(S, a[ai + 5 * rs]);
      c50 = a5.fma(b0, c50);
      c51 = a5.fma(b1, c51);
      c52 = a5.fma(b2, c52);
      c53 = a5.fma(b3, c53);
    }
    c00.intoArray(acc, 0 * VL);
    c01.intoArray(acc, 1 * VL);
    c02.intoArray(acc, 2 * VL);
    c03.intoArray(acc, 3 * VL);
    c10.intoArray(acc, 4 * VL);
    c11.intoArray(acc, 5 * VL);
    c12.intoArray(acc, 6 * VL);
    c13.intoArray(acc, 7 * VL);
    c20.intoArray(acc, 8 * VL);
    c21.intoArray(acc, 9 * VL);
    c22.intoArray(acc, 10 * VL);
    c23.intoArray(acc, 11 * VL);
    c30.intoArray(acc, 12 * VL);
    c31.intoArray(acc, 13 * VL);
    c32.intoArray(acc, 14 * VL);
    c33.intoArray(acc, 15 * VL);
    c40.intoArray(acc, 16 * VL);
    c41.intoArray(acc, 17 * VL);
    c42.intoArray(acc, 18 * VL);
    c43.intoArray(acc, 19 * VL);
    c50.intoArray(acc, 20 * VL);
    c51.intoArray(acc, 21 * VL);
    c52.intoArray(acc, 22 * VL);
    c53.intoArray(acc, 23 * VL);
  }
}
