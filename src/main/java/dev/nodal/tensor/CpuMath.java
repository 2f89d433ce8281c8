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
 *
 * <p>Every function here gives the same bits on the scalar and the vector path, at any vector width,
 * interpreted or compiled: {@link #exp} is built from IEEE additions and multiplications only, in
 * one order that {@link VectorMath} repeats lane by lane. The Vector API's own exponential does not
 * have that property (its interpreted form calls {@code Math.exp}, its compiled form a vector library
 * that differs in the last bit), so a run's numbers depended on when the JIT compiled it, and a
 * resumed run was not bit for bit the uninterrupted one.
 */
public final class CpuMath {
  private CpuMath() {}

  /** 2·√(2/π): {@code 2u = K·x·(1 + C·x²)}. */
  static final double K = 2 * Math.sqrt(2 / Math.PI);
  static final double C = 0.044715;
  /** The largest {@code −2u} whose exponential is taken (its exponential and σ stay normal floats). */
  static final float CAP = 80f;

  static final float KF = (float) K, CF = (float) C, SLOPE = 3 * CF * KF;

  // exp(x) = 2^n · exp(r), n = round(x·log2 e), r = x − n·ln 2 in [−ln2/2, ln2/2] (ln 2 in two parts,
  // the first exact in 9 bits so that n·LN2_HI is exact), exp(r) by Cephes' expf polynomial.
  static final float LOG2E = 1.44269504088896341f, LN2_HI = 0.693359375f, LN2_LO = -2.12194440e-4f;
  /** 1.5·2^23: adding it rounds a float of magnitude below 2^22 to an integer, held in the low bits. */
  static final float ROUND = 12582912f;
  static final int ROUND_BITS = 0x4B400000;
  static final float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f,
      P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
  /** Below it exp rounds to 0, above it to ∞; clamping there keeps n in [−150, 128]. */
  static final float EXP_LO = -104f, EXP_HI = 89f;

  /**
   * {@code e^x} in float, within 2 ulp of the exact value: 0 below about −103.97 (through the
   * subnormals), ∞ above about 88.72, NaN for NaN. The same bits as {@link VectorMath}'s lanes.
   */
  public static float exp(float x) {
    float c = Math.min(Math.max(x, EXP_LO), EXP_HI); // NaN stays NaN
    float t = c * LOG2E + ROUND;
    float n = t - ROUND;
    float r = c - n * LN2_HI - n * LN2_LO;
    float p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
    p = p * (r * r) + r + 1f;
    // 2^n as 2^h · 2^(n−h), h = ⌊n/2⌋: both normal for n in [−150, 128], so the result rounds once.
    int k = Float.floatToRawIntBits(t) - ROUND_BITS, h = k >> 1;
    return p * Float.intBitsToFloat((h + 127) << 23) * Float.intBitsToFloat((k - h + 127) << 23);
  }

  /** GELU of one value. */
  public static float gelu(float x) {
    return x / (expMinusTwoU(x) + 1f);
  }

  /** The derivative of GELU at x. */
  public static float geluDerivative(float x) {
    float e = expMinusTwoU(x), s = 1f / (e + 1f), slope = x * x * SLOPE + KF;
    return x * s * (e * s) * slope + s;
  }

  private static float expMinusTwoU(float x) {
    return exp(Math.min((x * x * CF + 1f) * x * -KF, CAP)); // NaN stays NaN
  }

  /** {@code z[i] = gelu(x[i])} for i in {@code [from, to)}. */
  public static void gelu(CpuContext cpu, float[] x, float[] z, int from, int to) {
    int i = cpu.vectorApi() ? VectorMath.gelu(x, z, from, to) : from;
    for (; i < to; i++) z[i] = gelu(x[i]);
  }

  /** {@code dx[i] += dz[i]·gelu'(x[i])} for i in {@code [from, to)}; without {@code add}, {@code dx[i] =}. */
  public static void geluBackward(CpuContext cpu, float[] x, float[] dz, float[] dx, int from, int to, boolean add) {
    int i = cpu.vectorApi() ? VectorMath.geluBackward(x, dz, dx, from, to, add) : from;
    for (; i < to; i++) dx[i] = add ? Math.fma(dz[i], geluDerivative(x[i]), dx[i]) : dz[i] * geluDerivative(x[i]);
  }

  /** {@code z[i] = f.apply(x[i])} for i in {@code [from, to)}, bit for bit; ReLU on the Vector API where there is one. */
  public static void activate(CpuContext cpu, FusedActivation f, float[] x, float[] z, int from, int to) {
    int i = cpu.vectorApi() && f == FusedActivation.RELU ? VectorMath.relu(x, z, from, to) : from;
    for (; i < to; i++) z[i] = f.apply(x[i]);
  }

  /**
   * {@code out[outOff + i] = f.gradient(z[zOff + i], dz[dzOff + i])} for i in {@code [0, n)}: dL/dx
   * of a fused activation from its output, as {@link FusedActivation#gradient} gives it, bit for
   * bit; with {@code add}, {@code out[outOff + i] +=} it.
   */
  public static void activationGradient(CpuContext cpu, FusedActivation f, float[] z, int zOff, float[] dz, int dzOff,
      float[] out, int outOff, int n, boolean add) {
    int i = cpu.vectorApi() ? VectorMath.activationGradient(f, z, zOff, dz, dzOff, out, outOff, n, add) : 0;
    for (; i < n; i++) {
      float g = f.gradient(z[zOff + i], dz[dzOff + i]);
      out[outOff + i] = add ? out[outOff + i] + g : g;
    }
  }

  /**
   * Σ a[i] for i in {@code [from, to)}. On the Vector API each lane sums every lanes-th element
   * in float, then the lanes and the tail are added in order in double (no less accurate than
   * the plain loop, which adds in order in float, and many times faster than its chain of
   * dependent adds). Either way the bits depend on the range and the vector width (8 floats with
   * AVX2, 16 with AVX-512) alone, not on the JIT or the threads.
   */
  public static float sum(CpuContext cpu, float[] a, int from, int to) {
    if (cpu.vectorApi()) return VectorMath.sum(a, from, to);
    float s = 0f;
    for (int i = from; i < to; i++) s += a[i];
    return s;
  }

  /**
   * {@code a[i] = exp(a[i] − shift)} for i in {@code [from, to)}: a softmax's numerators, the
   * shift its row's maximum (or log-sum-exp).
   */
  public static void expShifted(CpuContext cpu, float[] a, int from, int to, float shift) {
    int i = cpu.vectorApi() ? VectorMath.expShifted(a, from, to, shift) : from;
    for (; i < to; i++) a[i] = exp(a[i] - shift);
  }
}
