package dev.nodal.tensor;

/**
 * Elementwise functions of the CPU code, on the Vector API where the context has it
 * ({@link CpuContext#vectorApi()}: its exponential computes 8 to 16 at once, {@code Math.exp} one
 * in several nanoseconds), else in plain Java.
 *
 * <p>GELU in its tanh form, as PyTorch's {@code gelu(x, approximate="tanh")}, defined once for the
 * gelu node and the text generator:
 *
 * <pre>
 * z  = ½·x·(1 + tanh u) = x·σ(2u),   u = √(2/π)·(x + 0.044715·x³)
 * dz/dx = σ(2u) + x·σ(2u)·(1 − σ(2u))·2u'(x),   2u'(x) = 2√(2/π)·(1 + 3·0.044715·x²)
 * </pre>
 *
 * with {@code e = exp(−2u)}, {@code σ(2u) = 1/(1 + e)} and {@code 1 − σ(2u) = e·σ(2u)}, which keeps
 * its precision where σ is near 1; {@code −2u} is capped at {@value #CAP}, past which GELU and its
 * derivative are 0 to float precision, so that {@code e·σ} never meets an infinity.
 *
 * The logistic form needs one exponential and no tanh: Java 17's {@code Math.tanh} is a native
 * call that made GELU most of a transformer's training step.
 */
public final class CpuMath {
  private CpuMath() {}

  /** 2·√(2/π): {@code 2u = K·x·(1 + C·x²)}. */
  static final double K = 2 * Math.sqrt(2 / Math.PI);
  static final double C = 0.044715;
  /** The largest {@code −2u} whose exponential is taken (its exponential and σ stay normal floats). */
  static final float CAP = 80f;

  /** GELU of one value. */
  public static float gelu(float x) {
    double v = x;
    return (float) (v / (1 + expMinusTwoU(v)));
  }

  /** The derivative of GELU at x. */
  public static float geluDerivative(float x) {
    double v = x, e = expMinusTwoU(v), s = 1 / (1 + e);
    return (float) (s + v * s * (e * s) * K * (1 + 3 * C * v * v));
  }

  private static double expMinusTwoU(double v) {
    return Math.exp(Math.min(-K * v * (1 + C * v * v), CAP)); // NaN stays NaN
  }

  /** {@code z[i] = gelu(x[i])} for i in {@code [from, to)}. */
  public static void gelu(CpuContext cpu, float[] x, float[] z, int from, int to) {
    int i = cpu.vectorApi() ? VectorMath.gelu(x, z, from, to) : from;
    for (; i < to; i++) z[i] = gelu(x[i]);
  }

  /** {@code dx[i] += dz[i]·gelu'(x[i])} for i in {@code [from, to)}; without {@code add}, {@code dx[i] =}. */
  public static void geluBackward(CpuContext cpu, float[] x, float[] dz, float[] dx, int from, int to, boolean add) {
    int i = cpu.vectorApi() ? VectorMath.geluBackward(x, dz, dx, from, to, add) : from;
    for (; i < to; i++) dx[i] = (add ? dx[i] : 0f) + dz[i] * geluDerivative(x[i]);
  }

  /**
   * {@code a[i] = exp(a[i] − shift)} for i in {@code [from, to)}: a softmax's numerators, the
   * shift its row's maximum (or log-sum-exp).
   */
  public static void expShifted(CpuContext cpu, float[] a, int from, int to, float shift) {
    int i = cpu.vectorApi() ? VectorMath.expShifted(a, from, to, shift) : from;
    for (; i < to; i++) a[i] = (float) Math.exp(a[i] - shift);
  }
}
