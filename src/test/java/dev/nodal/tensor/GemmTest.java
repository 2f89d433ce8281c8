package dev.nodal.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The CPU GEMMs against a double-precision product: every transpose, offsets, alpha and beta, on
 * shapes of 1, odd shapes and shapes that straddle the Vector API kernel's row panel
 * (MR), column panel (NR) and depth block ({@link VectorGemm#KC}), on each of its micro-kernels.
 */
class GemmTest {
  /** Packing buffers of this test's own. */
  private final ThreadBuffers packing = new ThreadBuffers(3);

  static Stream<Arguments> shapes() {
    Stream.Builder<Arguments> out = Stream.builder();
    int kc = VectorGemm.KC;
    for (VectorGemm.Micro u : VectorGemm.ALL) {
      int mr = u.mr(), nr = u.nr();
      int[][] mnk = {{1, 1, 1}, {3, 5, 7}, {mr - 1, nr - 1, kc - 1}, {mr + 1, nr + 1, kc + 1}, {2 * mr, 2 * nr, 2 * kc},
          {37, 10, 300}, {1, 129, 64}, {65, 1, 33}, {130, 97, 260}};
      for (int[] d : mnk) {
        for (int t = 0; t < 4; t++) out.add(Arguments.of(u, d[0], d[1], d[2], (t & 1) != 0, (t & 2) != 0));
      }
    }
    return out.build();
  }

  @ParameterizedTest(name = "{0} {1}x{2}x{3} transA={4} transB={5}")
  @MethodSource("shapes")
  void bothKernelsMatchADoubleProduct(VectorGemm.Micro u, int m, int n, int k, boolean ta, boolean tb) {
    SplittableRandom r = new SplittableRandom(m * 31L + n * 7L + k);
    int aOff = 3, bOff = 5, cOff = 2;
    float[] a = random(r, aOff + m * k), b = random(r, bOff + k * n), c0 = random(r, cOff + m * n);
    float alpha = 0.75f, beta = 0.5f;
    double[] expected = new double[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) {
          double av = ta ? a[aOff + p * m + i] : a[aOff + i * k + p], bv = tb ? b[bOff + j * k + p] : b[bOff + p * n + j];
          s += av * bv;
        }
        expected[i * n + j] = alpha * s + beta * c0[cOff + i * n + j];
      }
    }
    float[] plain = c0.clone(), fast = c0.clone();
    Blas.plainGemm(ta, tb, m, n, k, alpha, a, aOff, b, bOff, beta, plain, cOff, 1);
    VectorGemm.gemm(u, packing, ta, tb, m, n, k, alpha, a, aOff, b, bOff, beta, fast, cOff, Epilogue.NONE, 2);
    double tol = 1e-5 * Math.sqrt(k) * 4;
    for (int e = 0; e < m * n; e++) {
      assertEquals(expected[e], plain[cOff + e], tol, "plain loops, element " + e);
      assertEquals(expected[e], fast[cOff + e], tol, "Vector API, element " + e);
    }
    for (int e = 0; e < cOff; e++) assertEquals(c0[e], fast[e], "Vector API wrote before C's offset");
  }

  /**
   * With beta 0 the product sets C: NaNs left in C (a gradient buffer reused from an earlier
   * value, which an op that overwrites its gradients hands it) do not reach the result, on full
   * and edge tiles, over two blocks of K, on one thread and on two; the result is the bits of
   * beta 1 over a zeroed C.
   */
  @Test
  void betaZeroSetsC() {
    SplittableRandom r = new SplittableRandom(4);
    int m = 3 * VectorGemm.WIDE.mr() + 1, n = 2 * VectorGemm.WIDE.nr() + 5, k = VectorGemm.KC + 7, cOff = 3;
    float[] a = random(r, m * k), b = random(r, k * n);
    for (VectorGemm.Micro u : VectorGemm.ALL) {
      for (int threads : new int[] {1, 2}) {
        float[] zeroed = new float[cOff + m * n], dirty = new float[cOff + m * n + 2];
        java.util.Arrays.fill(dirty, Float.NaN);
        VectorGemm.gemm(u, packing, false, false, m, n, k, 1f, a, 0, b, 0, 1f, zeroed, cOff, Epilogue.NONE, threads);
        VectorGemm.gemm(u, packing, false, false, m, n, k, 1f, a, 0, b, 0, 0f, dirty, cOff, Epilogue.NONE, threads);
        for (int e = 0; e < m * n; e++) {
          assertEquals(zeroed[cOff + e], dirty[cOff + e], u + " on " + threads + " threads, element " + e);
        }
        assertTrue(Float.isNaN(dirty[0]) && Float.isNaN(dirty[cOff + m * n]), u + ": wrote outside C");
      }
    }
  }

  /** Split by row panels (70 × 300) and by column panels (20 × 500), each form, 2 to 4 threads. */
  @Test
  void resultsDoNotDependOnTheNumberOfThreads() {
    SplittableRandom r = new SplittableRandom(9);
    assertTrue(VectorGemm.splitByRows(18, 7, 4, 70, 300) && !VectorGemm.splitByRows(5, 11, 4, 20, 500),
        "the two shapes take the two splits");
    for (int[] mn : new int[][] {{70, 300}, {20, 500}}) {
      int m = mn[0], n = mn[1], k = 333;
      for (boolean ta : new boolean[] {false, true}) {
        for (boolean tb : new boolean[] {false, true}) {
          float[] a = random(r, m * k), b = random(r, k * n), one = new float[m * n];
          VectorGemm.gemm(CpuOptions.Microkernel.AUTO, packing, ta, tb, m, n, k, 1f, a, 0, b, 0, 0f, one, 0, Epilogue.NONE, 1);
          for (int threads = 2; threads <= 4; threads++) {
            float[] many = new float[m * n];
            VectorGemm.gemm(CpuOptions.Microkernel.AUTO, packing, ta, tb, m, n, k, 1f, a, 0, b, 0, 0f, many, 0, Epilogue.NONE, threads);
            float[] wide = new float[m * n], wideOne = new float[m * n];
            VectorGemm.gemm(VectorGemm.WIDE, packing, ta, tb, m, n, k, 1f, a, 0, b, 0, 0f, wideOne, 0, Epilogue.NONE, 1);
            VectorGemm.gemm(VectorGemm.WIDE, packing, ta, tb, m, n, k, 1f, a, 0, b, 0, 0f, wide, 0, Epilogue.NONE, threads);
            assertTrue(java.util.Arrays.equals(wideOne, wide), "6x4 kernel, " + m + "x" + n + ": 1 and " + threads
                + " threads must give identical bits");
            assertTrue(java.util.Arrays.equals(one, many), m + "x" + n + " transA " + ta + " transB " + tb + ": 1 and "
                + threads + " threads must give identical bits");
          }
        }
      }
    }
  }

  static Stream<Arguments> epilogues() {
    int mr = VectorGemm.WIDE.mr(), nr = VectorGemm.WIDE.nr(), kc = VectorGemm.KC;
    int[][] mnk = {{1, 1, 1}, {2 * mr, 2 * nr, 2 * kc + 3}, {mr + 1, nr + 1, kc - 1}, {70, 300, 40}, {130, 300, 20}};
    Stream.Builder<Arguments> out = Stream.builder();
    for (int[] d : mnk) {
      for (FusedActivation f : FusedActivation.values()) {
        for (int bias = 0; bias < 3; bias++) out.add(Arguments.of(d[0], d[1], d[2], f, bias));
      }
    }
    return out.build();
  }

  /**
   * A bias (0 none, 1 per row, 2 per column) and an activation, applied once after the whole sum
   * (K spans several blocks in some shapes, and beta adds the old C first): the Vector API kernel
   * on 1 and 2 threads, and Blas's plain path, against the double product passed through
   * {@link FusedActivation#apply}; 6x4 on 1 and 2 threads, 4x3 and 6x2 on 2.
   */
  @ParameterizedTest(name = "{0}x{1}x{2} {3} bias mode {4}")
  @MethodSource("epilogues")
  void epiloguesApplyOnceToTheFinishedSum(int m, int n, int k, FusedActivation f, int biasMode) {
    SplittableRandom r = new SplittableRandom(m * 131L + n * 17L + k + f.ordinal() * 5 + biasMode);
    int biasOff = 4;
    float[] a = random(r, m * k), b = random(r, k * n), c0 = random(r, m * n), bias = random(r, biasOff + Math.max(m, n));
    Epilogue e = biasMode == 0 ? Epilogue.columns(null, f) : biasMode == 1 ? Epilogue.rows(bias, biasOff, f)
        : new Epilogue(bias, biasOff, false, f);
    float beta = 0.5f;
    float[] expected = new float[m * n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int p = 0; p < k; p++) s += (double) a[i * k + p] * b[p * n + j];
        s += beta * c0[i * n + j];
        if (biasMode != 0) s += bias[biasOff + (biasMode == 1 ? i : j)];
        expected[i * n + j] = f.apply((float) s);
      }
    }
    float[] one = c0.clone(), two = c0.clone(), plain = c0.clone(), narrow = c0.clone(), shortTile = c0.clone();
    VectorGemm.gemm(VectorGemm.WIDE, packing, false, false, m, n, k, 1f, a, 0, b, 0, beta, one, 0, e, 1);
    VectorGemm.gemm(VectorGemm.WIDE, packing, false, false, m, n, k, 1f, a, 0, b, 0, beta, two, 0, e, 2);
    VectorGemm.gemm(VectorGemm.NARROW, packing, false, false, m, n, k, 1f, a, 0, b, 0, beta, narrow, 0, e, 2);
    VectorGemm.gemm(VectorGemm.SHORT, packing, false, false, m, n, k, 1f, a, 0, b, 0, beta, shortTile, 0, e, 2);
    Blas.plainGemm(false, false, m, n, k, 1f, a, 0, b, 0, beta, plain, 0, 3);
    e.apply(plain, 0, n, 0, m, 0, n);
    double tol = 1e-5 * Math.sqrt(k) * 4;
    for (int i = 0; i < m * n; i++) {
      assertEquals(expected[i], one[i], tol, "Vector API, element " + i);
      assertEquals(one[i], two[i], 0, "1 and 2 threads, element " + i);
      assertEquals(expected[i], plain[i], tol, "plain loops, element " + i);
      assertEquals(expected[i], narrow[i], tol, "4x3 kernel, element " + i);
      assertEquals(expected[i], shortTile[i], tol, "6x2 kernel, element " + i);
    }
  }

  /**
   * With 32 registers AUTO takes the tile that pads C least (6×4 within 5%); with 16, 6×2 always,
   * and 6×4 or 8×2 forced fall back to it. 4×3 and 6×2 forced are taken everywhere.
   */
  @Test
  void autoTakesTheTileThatPadsLeast() {
    boolean registers = VectorGemm.REGISTERS >= 32;
    CpuOptions.Microkernel auto = CpuOptions.Microkernel.AUTO;
    VectorGemm.Micro otherwise = VectorGemm.SHORT;
    assertEquals(registers ? VectorGemm.TALL : otherwise, VectorGemm.micro(auto, 64, 32), "a head of 32 features");
    assertEquals(registers ? VectorGemm.WIDE : otherwise, VectorGemm.micro(auto, 2048, 128), "two 6x4 tiles across");
    assertEquals(registers ? VectorGemm.NARROW : otherwise, VectorGemm.micro(auto, 2048, 96),
        "two 4x3 tiles across; a tie with 8x2 keeps 4x3");
    assertEquals(registers ? VectorGemm.WIDE : otherwise, VectorGemm.micro(CpuOptions.Microkernel.WIDE_6X4, 64, 32));
    assertEquals(registers ? VectorGemm.TALL : otherwise, VectorGemm.micro(CpuOptions.Microkernel.TALL_8X2, 64, 32));
    assertEquals(VectorGemm.NARROW, VectorGemm.micro(CpuOptions.Microkernel.NARROW_4X3, 64, 32), "forced");
    assertEquals(VectorGemm.SHORT, VectorGemm.micro(CpuOptions.Microkernel.SHORT_6X2, 64, 32), "forced");
  }

  /** K is cut into the fewest blocks of at most KC steps, equal but for the last. */
  @Test
  void blocksOfKAreEven() {
    int kc = VectorGemm.KC;
    assertEquals(1, VectorGemm.blockSteps(1));
    assertEquals(kc, VectorGemm.blockSteps(kc));
    assertEquals(kc / 2 + 1, VectorGemm.blockSteps(kc + 1), "two blocks, not one full and one of a single step");
    assertEquals(196, VectorGemm.blockSteps(784), "an image's 784 pixels: four blocks of 196 when KC is 256");
  }

  /** A NaN in A reaches every output of its row through a fused ReLU, on full and edge tiles alike. */
  @Test
  void aFusedReluPassesNaNThrough() {
    int m = 2 * VectorGemm.WIDE.mr() + 1, n = 2 * VectorGemm.WIDE.nr() + 3, k = 5;
    SplittableRandom r = new SplittableRandom(3);
    float[] a = random(r, m * k), b = random(r, k * n);
    a[0] = Float.NaN; // row 0
    a[(m - 1) * k] = Float.NaN; // the last row, in an edge tile
    for (VectorGemm.Micro u : VectorGemm.ALL) {
      float[] c = new float[m * n];
      VectorGemm.gemm(u, packing, false, false, m, n, k, 1f, a, 0, b, 0, 0f, c, 0, Epilogue.columns(null, FusedActivation.RELU), 1);
      for (int j = 0; j < n; j++) {
        assertTrue(Float.isNaN(c[j]) && Float.isNaN(c[(m - 1) * n + j]), u + ": column " + j + " lost its NaN");
      }
    }
    assertTrue(Float.isNaN(FusedActivation.RELU.apply(Float.NaN)));
  }

  /**
   * Inside {@link CpuContext#serially}, even a product above the threshold stays on the calling
   * thread; another context's products on that thread are not held back.
   */
  @Test
  void productsInsideSeriallyStayOnTheCallingThread() {
    CpuContext cpu = CpuContext.defaults(), other = CpuContext.defaults();
    long large = 1L << 30;
    int cores = Runtime.getRuntime().availableProcessors();
    assertEquals(cores, cpu.vectorThreads(large), "outside: every core");
    cpu.serially(() -> {
      assertEquals(1, cpu.vectorThreads(large));
      cpu.serially(() -> assertEquals(1, cpu.vectorThreads(large), "nested"));
      assertEquals(1, cpu.vectorThreads(large), "still inside");
      assertEquals(cores, other.vectorThreads(large), "another context's products");
    });
    assertEquals(cores, cpu.vectorThreads(large), "after: every core again");
    java.util.stream.IntStream.range(0, 4).parallel().forEach(i -> cpu.serially(() -> assertEquals(1,
        cpu.vectorThreads(large), "in a parallel task, on a worker or on the calling thread")));
  }

  private static float[] random(SplittableRandom r, int n) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
    return v;
  }
}
