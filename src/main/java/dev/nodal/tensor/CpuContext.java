package dev.nodal.tensor;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ForkJoinWorkerThread;

/**
 * What the CPU code of one backend shares: its {@link CpuOptions}, the matrix products that follow
 * them, and scratch arrays kept per thread ({@link #buffers}). A CPU backend makes one and hands
 * it to every op through {@code Pass.cpu()}; two backends of one JVM hold two, so neither sees the
 * other's options or buffers. Safe for use by several threads at once (each thread gets its own
 * scratch).
 *
 * <p>Products run on {@link VectorGemm} when the options ask for the Vector API and the JVM has
 * the {@code jdk.incubator.vector} module (as {@code ./nodal} and the tests start it), else on
 * {@link Blas}'s plain loops. Large products are split by rows of the result over the common
 * fork-join pool, deterministically: the result does not depend on the number of threads.
 */
public final class CpuContext {
  /** Products below this many multiply-adds stay on the plain loops (packing would cost more). */
  private static final long VECTOR_WORK = 4096;
  /** Products below this many multiply-adds run on the calling thread (plain loops). */
  private static final long PARALLEL_WORK = 1L << 18;
  /**
   * The same for the Vector API GEMM, whose products are faster, so that waking the other threads
   * pays only later. Measured with {@code bench/jmh GemmBenchmark} on 2 cores: a product of 3.6
   * million multiply-adds (one image of the cnn's second convolution) took 84 µs on 2 threads
   * against 53 µs on one; 16.7 million (256³) took 175 against 198.
   */
  private static final long VECTOR_PARALLEL_WORK = 1L << 23;

  private final CpuOptions options;
  private final boolean vector;
  /** The Vector API product's packing buffers and tile of accumulators, per thread. */
  private final ThreadBuffers packing = new ThreadBuffers(3);
  private final Map<ThreadBuffers.Key, ThreadBuffers> scratch = new ConcurrentHashMap<>();
  /** How deep each thread outside the fork-join pool is in {@link #serially}. */
  private final ThreadLocal<int[]> serialDepth = ThreadLocal.withInitial(() -> new int[1]);

  public CpuContext(CpuOptions options) {
    if (options == null) throw new IllegalArgumentException("CPU options are null (CpuOptions.defaults() for the defaults)");
    this.options = options;
    this.vector = options.vectorApi() && vectorModulePresent();
  }

  /** A context of {@link CpuOptions#defaults()}, with buffers of its own. */
  public static CpuContext defaults() {
    return new CpuContext(CpuOptions.defaults());
  }

  public CpuOptions options() {
    return options;
  }

  /** True when products run on the Vector API. */
  public boolean vectorApi() {
    return vector;
  }

  /**
   * True when products run on the plain loops only because the JVM was started without
   * {@code --add-modules jdk.incubator.vector} (not because the options asked for them).
   */
  public boolean vectorModuleMissing() {
    return options.vectorApi() && !vector;
  }

  /** True when this JVM was started with the {@code jdk.incubator.vector} module. */
  public static boolean vectorModulePresent() {
    return ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent();
  }

  /** Which GEMM runs products: for logs and benchmarks. */
  public String kernel() {
    if (!vector) return "plain Java loops";
    return "Vector API, " + VectorGemm.describe(options.microkernel());
  }

  /**
   * {@code C = alpha · op(A) · op(B) + beta · C}, where {@code op(A)} is M×K and {@code op(B)} is
   * K×N. With {@code transA}, A is stored K×M; with {@code transB}, B is stored N×K. C is M×N.
   * {@code beta = 1} accumulates into C, which is how backward passes add their gradients.
   */
  public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, float[] b, float beta,
      float[] c) {
    gemm(transA, transB, m, n, k, alpha, a, 0, b, 0, beta, c, 0, Epilogue.NONE);
  }

  /**
   * As {@link #gemm(boolean, boolean, int, int, int, float, float[], float[], float, float[])}, on
   * matrices that start at {@code aOff}, {@code bOff} and {@code cOff} of their arrays (one image's
   * slice of a batch, one group's filters).
   */
  public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, float[] b,
      int bOff, float beta, float[] c, int cOff) {
    gemm(transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff, Epilogue.NONE);
  }

  /**
   * As above, then {@code epilogue} on every element of C (a bias, an activation): applied to each
   * tile of C as the product completes it, instead of in passes of their own over C.
   */
  public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, float[] a, int aOff, float[] b,
      int bOff, float beta, float[] c, int cOff, Epilogue epilogue) {
    long work = (long) m * n * k;
    if (vector && work >= VECTOR_WORK) {
      VectorGemm.gemm(options.microkernel(), packing, transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff,
          epilogue, vectorThreads(work));
      return;
    }
    int blocks = work < PARALLEL_WORK || inParallelTask() ? 1 : Math.min(m, 4 * Runtime.getRuntime().availableProcessors());
    Blas.plainGemm(transA, transB, m, n, k, alpha, a, aOff, b, bOff, beta, c, cOff, blocks);
    if (!epilogue.isNone()) epilogue.apply(c, cOff, n, 0, m, 0, n);
  }

  /**
   * Runs {@code body} with every product it makes on the calling thread: for a task of work that
   * is already split over the cores (a convolution's chunks of images), which may also run on the
   * thread that started the split, so that a product spread over every core again does not
   * oversubscribe them.
   */
  public void serially(Runnable body) {
    if (Thread.currentThread() instanceof ForkJoinWorkerThread) { // already serial
      body.run();
      return;
    }
    int[] depth = serialDepth.get();
    depth[0]++;
    try {
      body.run();
    } finally {
      depth[0]--;
    }
  }

  /**
   * This context's scratch of kind {@code key}: a set of arrays per thread, kept and reused, so
   * that CPU code allocates nothing once warm. Each key is one pool; two users of one key must
   * not hold its arrays on one thread at once.
   */
  public ThreadBuffers buffers(ThreadBuffers.Key key) {
    ThreadBuffers b = scratch.get(key);
    return b != null ? b : scratch.computeIfAbsent(key, k -> new ThreadBuffers(k.arrays()));
  }

  /**
   * True where products stay on the calling thread: on a fork-join worker, or inside
   * {@link #serially}. There the caller already splits its work over the cores.
   */
  private boolean inParallelTask() {
    return Thread.currentThread() instanceof ForkJoinWorkerThread || serialDepth.get()[0] > 0;
  }

  /** Threads for a Vector API product of {@code work} multiply-adds on this thread. */
  int vectorThreads(long work) {
    return work < VECTOR_PARALLEL_WORK || inParallelTask() ? 1 : Runtime.getRuntime().availableProcessors();
  }

  @Override
  public String toString() {
    return "CPU context (" + kernel() + ")";
  }
}
