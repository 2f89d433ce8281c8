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
    gemm(transA, transB, m, n, k, alpha, a, 0, b, 0, beta, c, 0);
  }

  /**
   * As {@link #gemm(boolean, boolean, int, int, int, float, float[], float[], float, float[])},
   * on matrices that start at {@code aOff}, {@code bOff} and {@code cOff} of their arrays (one
   * image's slice of a batch, one group's filters).
   */
  public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff) {
    gemm(transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff, Epilogue.NONE);
  }

  /**
   * As above, then {@code epilogue} on every element of C (a bias, an activation): applied to each
   * tile of C as the product completes it, instead of in passes of their own over C.
   */
  public static void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff, Epilogue epilogue) {
    if (VECTOR && (long) m * n * k >= VECTOR_WORK) {
      long work = (long) m * n * k;
      VectorGemm.gemm(transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff, epilogue, vectorThreads(work));
      return;
    }
    plainGemm(transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff);
    if (!epilogue.isNone()) epilogue.apply(c, cOff, n, 0, m, 0, n);
  }

  /** The plain-Java loops, whatever the JVM offers (the fallback, and the reference in tests). */
  static void plainGemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff) {
    scale(c, cOff, m * n, beta);
    int blocks = (long) m * n * k < PARALLEL_WORK || inParallelTask() ? 1
        : Math.min(m, 4 * Runtime.getRuntime().availableProcessors());
    if (blocks == 1) {
      rows(transA, transB, 0, m, m, n, k, alpha, a, aOff, b, bOff, c, cOff);
    } else {
      // Each block owns whole rows of C and adds into them in the same order as the serial loop,
      // so the result does not depend on the number of threads.
      IntStream.range(0, blocks).parallel().forEach(blk -> rows(transA, transB, (int) ((long) m * blk / blocks),
          (int) ((long) m * (blk + 1) / blocks), m, n, k, alpha, a, aOff, b, bOff, c, cOff));
    }
  }

  /**
   * True when the JVM runs with {@code --add-modules jdk.incubator.vector} (as {@code ./nodal} and
   * the tests do) and {@code NODAL_VECTOR} is not {@code 0}: products then run on
   * {@link VectorGemm}. Without the module, the plain loops below serve.
   */
  static final boolean VECTOR = ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent()
      && !"0".equals(System.getenv("NODAL_VECTOR"));

  /**
   * True when products run on the plain loops only because the JVM was started without
   * {@code --add-modules jdk.incubator.vector} (not because {@code NODAL_VECTOR=0} asked for them).
   */
  public static boolean vectorModuleMissing() {
    return !VECTOR && !"0".equals(System.getenv("NODAL_VECTOR"));
  }

  /** Products below this many multiply-adds stay on the plain loops (packing would cost more). */
  private static final long VECTOR_WORK = 4096;

  /** Which GEMM runs products: for logs and benchmarks. */
  public static String kernel() {
    return VECTOR ? "Vector API, " + VectorGemm.lanes() + " floats per vector" : "plain Java loops";
  }

  /**
   * True where products stay on the calling thread: on a fork-join worker, or inside
   * {@link #serially}. There the caller already splits its work over the cores (a convolution's
   * chunks of images), so a product spread over every core again would only oversubscribe them.
   */
  private static boolean inParallelTask() {
    return Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread || SERIAL.get()[0] > 0;
  }

  /** Threads for a Vector API product of {@code work} multiply-adds on this thread. */
  static int vectorThreads(long work) {
    return work < VECTOR_PARALLEL_WORK || inParallelTask() ? 1 : Runtime.getRuntime().availableProcessors();
  }

  /** How deep the calling thread is in {@link #serially} (read only on threads outside the fork-join pool). */
  private static final ThreadLocal<int[]> SERIAL = ThreadLocal.withInitial(() -> new int[1]);

  /**
   * Runs {@code body} with every product it makes on the calling thread: for a task of work that
   * is already split over the cores, which may also run on the thread that started the split (not
   * a fork-join worker, so not caught by the test above).
   */
  public static void serially(Runnable body) {
    if (Thread.currentThread() instanceof java.util.concurrent.ForkJoinWorkerThread) { // already serial
      body.run();
      return;
    }
    int[] depth = SERIAL.get();
    depth[0]++;
    try {
      body.run();
    } finally {
      depth[0]--;
    }
  }

  /** Products below this many multiply-adds run on the calling thread (plain loops). */
  private static final long PARALLEL_WORK = 1L << 18;

  /**
   * The same for the Vector API GEMM, whose products are faster, so that waking the other threads
   * pays only later. Measured with {@code bench/jmh GemmBenchmark} on 2 cores: a product of 3.6
   * million multiply-adds (one image of the cnn's second convolution) took 84 µs on 2 threads
   * against 53 µs on one; 16.7 million (256³) took 175 against 198.
   */
  private static final long VECTOR_PARALLEL_WORK = 1L << 23;

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
