package dev.nodal.tensor;

import dev.ludovic.netlib.blas.BLAS;
import dev.ludovic.netlib.blas.JavaBLAS;
import dev.ludovic.netlib.blas.NativeBLAS;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

/**
 * The CPU backend's products against netlib-java's, per shape class, in one JVM: Nodal's Vector
 * API GEMM on every core and on one thread; {@code dev.ludovic.netlib}'s pure-Java VectorBLAS
 * (one thread, the BLAS Spark uses); and its JNI binding to the system BLAS (OpenBLAS where
 * Debian's {@code libopenblas0-pthread} provides {@code libblas.so.3}), when it loads.
 *
 * <p>Not part of the test run: {@code bench/jmh} runs it (see docs/PERFORMANCE.md). Shapes, all
 * row-major {@code C[M×N] = op(A)·op(B)} with K the inner dimension:
 * <ul>
 *   <li>{@code square-256}, {@code square-1024}: N×N×N, {@code A·B};
 *   <li>{@code mlp-forward}: batch 128 through 784 → 256, {@code X·W};
 *   <li>{@code mlp-input-grad}: dX = dZ·Wᵀ, 128 × 784 over 256 ({@code A·Bᵀ});
 *   <li>{@code mlp-weight-grad}: dW = Xᵀ·dZ, 784 × 256 over 128 ({@code Aᵀ·B});
 *   <li>{@code thin-output}: the 10-class layer, 128 × 10 over 128;
 *   <li>{@code conv2-image}: one image of the cnn's second convolution, 64 × 196 over 288.
 * </ul>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 4, time = 1)
@Measurement(iterations = 6, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class GemmBenchmark {

  @Param({"square-256", "square-1024", "mlp-forward", "mlp-input-grad", "mlp-weight-grad", "thin-output",
      "conv2-image"})
  public String shape;

  @Param({"nodal", "nodal-1-thread", "netlib-vector", "netlib-native"})
  public String impl;

  private int m, n, k;
  private boolean transA, transB;
  private float[] a, b, c;
  private BLAS netlib;
  /** The CPU backend's products, with the microkernel of {@code -Dnodal.gemm.kernel} (auto when unset). */
  private CpuContext cpu;
  private ThreadBuffers packing;

  @Setup
  public void setUp() {
    switch (shape) {
      case "square-256" -> dims(256, 256, 256, false, false);
      case "square-1024" -> dims(1024, 1024, 1024, false, false);
      case "mlp-forward" -> dims(128, 256, 784, false, false);
      case "mlp-input-grad" -> dims(128, 784, 256, false, true);
      case "mlp-weight-grad" -> dims(784, 256, 128, true, false);
      case "thin-output" -> dims(128, 10, 128, false, false);
      case "conv2-image" -> dims(64, 196, 288, false, false);
      default -> throw new IllegalArgumentException("shape " + shape);
    }
    Random r = new Random(1);
    a = new float[m * k];
    b = new float[k * n];
    c = new float[m * n];
    for (int i = 0; i < a.length; i++) a[i] = r.nextFloat() - 0.5f;
    for (int i = 0; i < b.length; i++) b[i] = r.nextFloat() - 0.5f;
    cpu = new CpuContext(CpuOptions.defaults().withMicrokernel(
        CpuOptions.Microkernel.parse(System.getProperty("nodal.gemm.kernel", "auto"))));
    packing = new ThreadBuffers(3);
    if (impl.startsWith("nodal") && !cpu.vectorApi()) {
      throw new IllegalStateException("run with --add-modules jdk.incubator.vector: " + cpu.kernel());
    }
    netlib = switch (impl) {
      case "netlib-vector" -> requireClass(JavaBLAS.getInstance(), "VectorBLAS");
      case "netlib-native" -> NativeBLAS.getInstance();
      default -> null;
    };
  }

  private void dims(int m, int n, int k, boolean transA, boolean transB) {
    this.m = m;
    this.n = n;
    this.k = k;
    this.transA = transA;
    this.transB = transB;
  }

  private static BLAS requireClass(BLAS blas, String name) {
    if (!blas.getClass().getSimpleName().equals(name)) {
      throw new IllegalStateException("netlib gave " + blas.getClass().getName() + ", not " + name);
    }
    return blas;
  }

  @Benchmark
  public void gemm(Blackhole hole) {
    switch (impl) {
      case "nodal" -> cpu.gemm(transA, transB, m, n, k, 1f, a, b, 0f, c);
      case "nodal-1-thread" -> VectorGemm.gemm(cpu.options().microkernel(), packing, transA, transB, m, n, k, 1f, a, 0, b,
          0, 0f, c, 0, Epilogue.NONE, 1);
      default -> {
        // netlib is column-major: the row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ,
        // with A and B read as their own transposes.
        netlib.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, 1f, b, transB ? k : n, a, transA ? m : k, 0f, c,
            n);
      }
    }
    hole.consume(c);
  }
}
