package dev.nodal.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.ChildJvm;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The CPU's own exp, tanh and GELU against their textbook forms in double, and the Vector API path
 * against the scalar one: the same bits, compiled or interpreted.
 */
class ElementwiseMathTest {
  /** Points across every branch: around 0 (the series), the middle, the tails where exp overflows, and the specials. */
  private static float[] points() {
    Random r = new Random(7);
    float[] x = new float[4000];
    for (int i = 0; i < x.length; i++) {
      double scale = switch (i % 4) { case 0 -> 1e-3; case 1 -> 0.1; case 2 -> 3; default -> 40; };
      x[i] = (float) (r.nextGaussian() * scale);
    }
    float[] special = {0f, -0f, 0x1p-4f, -0x1p-4f, Math.nextDown(0x1p-4f), 1e-30f, Float.MIN_VALUE, 88f, -88f, 200f, -200f,
        Float.MAX_VALUE, -Float.MAX_VALUE, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN};
    System.arraycopy(special, 0, x, 0, special.length);
    return x;
  }

  @Test
  void tanhMatchesMathTanh() {
    double worst = 0;
    for (float f : points()) {
      double x = f, want = Math.tanh(x), got = FusedActivation.tanh(x);
      if (Double.isNaN(want)) {
        assertTrue(Double.isNaN(got), "tanh(NaN)");
        continue;
      }
      assertEquals(Math.copySign(1, want), Math.copySign(1, got), "the sign of tanh(" + x + ")");
      double rel = want == 0 ? Math.abs(got) : Math.abs(got - want) / Math.abs(want);
      worst = Math.max(worst, rel);
    }
    System.out.printf("tanh over %d points: largest relative difference from Math.tanh %.2e%n", points().length, worst);
    assertTrue(worst < 1e-14, "largest relative difference " + worst);
  }

  /** GELU and its derivative in double, from tanh, as PyTorch writes them. */
  private static double gelu(double x) {
    return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
  }

  private static double geluDerivative(double x) {
    double t = Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * Math.sqrt(2 / Math.PI) * (1 + 3 * 0.044715 * x * x);
  }

  @Test
  void geluAndItsDerivativeMatchTheTanhForm() {
    for (float f : points()) {
      if (Float.isInfinite(f) || Float.isNaN(f) || Math.abs(f) > 1e6) continue; // x³ overflows in float's range
      assertClose(gelu(f), CpuMath.gelu(f), "gelu(" + f + ")");
      assertClose(geluDerivative(f), CpuMath.geluDerivative(f), "gelu'(" + f + ")");
    }
    assertTrue(Float.isNaN(CpuMath.gelu(Float.NaN)), "gelu(NaN)");
    assertEquals(Float.POSITIVE_INFINITY, CpuMath.gelu(Float.POSITIVE_INFINITY), "gelu(inf)");
  }

  /** The Vector API's float path, including the scalar tail, against the scalar form, for both contexts. */
  @Test
  void vectorAndScalarPathsAgree() {
    float[] x = points();
    int n = x.length - 5; // a tail that no whole vector covers
    for (boolean vector : new boolean[] {true, false}) {
      CpuContext cpu = new CpuContext(new CpuOptions(vector, CpuOptions.Microkernel.AUTO));
      float[] z = new float[x.length], dz = new float[x.length], dx = new float[x.length], set = new float[x.length];
      for (int i = 0; i < x.length; i++) {
        dz[i] = (i % 7 - 3) * 0.5f;
        dx[i] = 0.25f;
        set[i] = Float.NaN; // what a reused buffer may hold: never read when the gradient is set
      }
      CpuMath.gelu(cpu, x, z, 3, n);
      CpuMath.geluBackward(cpu, x, dz, dx, 3, n, true);
      CpuMath.geluBackward(cpu, x, dz, set, 3, n, false);
      for (int i = 0; i < x.length; i++) {
        boolean inside = i >= 3 && i < n;
        String what = (cpu.vectorApi() ? "vector" : "scalar") + " path at x = " + x[i];
        if (!inside) {
          assertEquals(0f, z[i], "left alone outside the range: " + what);
          assertEquals(0.25f, dx[i], "left alone outside the range: " + what);
        } else if (Float.isNaN(x[i])) {
          assertTrue(Float.isNaN(z[i]) && Float.isNaN(dx[i]), what);
        } else {
          assertEquals(CpuMath.gelu(x[i]), z[i], "gelu, the same bits on the " + what);
          assertEquals(Math.fma(dz[i], CpuMath.geluDerivative(x[i]), 0.25f), dx[i], "dx, the same bits on the " + what);
          assertEquals(dz[i] * CpuMath.geluDerivative(x[i]), set[i], "dx set, the same bits on the " + what);
        }
      }
    }
  }

  /**
   * Each fused activation and its dL/dx from its output, set and added: both paths give
   * FusedActivation's bits, tail included.
   */
  @Test
  void activationGradientsAgreeWithTheScalarFormOnBothPaths() {
    float[] z = points(), dz = new float[z.length];
    for (int i = 0; i < z.length; i++) dz[i] = (i % 5 - 2) * 0.75f + (i % 11 == 0 ? Float.NaN : 0f);
    int n = z.length - 7;
    for (boolean vector : new boolean[] {true, false}) {
      CpuContext cpu = new CpuContext(new CpuOptions(vector, CpuOptions.Microkernel.AUTO));
      for (FusedActivation f : FusedActivation.values()) {
        String path = " on the " + (cpu.vectorApi() ? "vector" : "scalar") + " path";
        float[] out = new float[n + 4], added = new float[n + 4], applied = new float[n + 4];
        Arrays.fill(out, Float.NaN);
        Arrays.fill(applied, Float.NaN);
        for (int i = 0; i < added.length; i++) added[i] = i * 0.125f;
        CpuMath.activationGradient(cpu, f, z, 3, dz, 5, out, 2, n - 5, false);
        CpuMath.activationGradient(cpu, f, z, 3, dz, 5, added, 2, n - 5, true);
        CpuMath.activate(cpu, f, z, applied, 2, n - 3);
        for (int i = 0; i < n - 5; i++) {
          float want = f.gradient(z[3 + i], dz[5 + i]);
          String at = f + " at z = " + z[3 + i] + ", dz = " + dz[5 + i] + path;
          assertEquals(Float.floatToRawIntBits(want), Float.floatToRawIntBits(out[2 + i]), at);
          assertEquals(Float.floatToRawIntBits((2 + i) * 0.125f + want), Float.floatToRawIntBits(added[2 + i]), "added, " + at);
          assertEquals(Float.floatToRawIntBits(f.apply(z[2 + i])), Float.floatToRawIntBits(applied[2 + i]),
              f + "(" + z[2 + i] + ")" + path);
        }
        assertTrue(Float.isNaN(out[0]) && Float.isNaN(out[1]) && Float.isNaN(out[n - 3]), "left alone outside the range");
        assertTrue(Float.isNaN(applied[1]) && Float.isNaN(applied[n - 3]), "left alone outside the range");
      }
    }
  }

  /** A range's sum: in order on the plain path; by lanes, then the lanes and the tail in order in double, on the vector path. */
  @Test
  void sumsFollowTheirDocumentedOrder() {
    Random r = new Random(5);
    float[] a = new float[1000];
    for (int i = 0; i < a.length; i++) a[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(6)));
    for (int[] range : new int[][] {{0, 0}, {3, 4}, {1, 17}, {5, 784 + 5}, {0, 1000}}) {
      int from = range[0], to = range[1];
      float plain = 0f;
      for (int i = from; i < to; i++) plain += a[i];
      assertEquals(plain, CpuMath.sum(new CpuContext(new CpuOptions(false, CpuOptions.Microkernel.AUTO)), a, from, to));
      CpuContext cpu = CpuContext.defaults();
      if (!cpu.vectorApi()) continue;
      int vl = VectorGemm.lanes(), whole = (to - from) / vl * vl;
      float[] lanes = new float[vl];
      for (int i = 0; i < whole; i++) lanes[i % vl] += a[from + i];
      double want = 0;
      for (float lane : lanes) want += lane;
      for (int i = from + whole; i < to; i++) want += a[i];
      assertEquals((float) want, CpuMath.sum(cpu, a, from, to), "sum of [" + from + ", " + to + ")");
    }
  }

  @Test
  void expShiftedMatchesMathExpOnBothPaths() {
    float[] x = points();
    for (boolean vector : new boolean[] {true, false}) {
      CpuContext cpu = new CpuContext(new CpuOptions(vector, CpuOptions.Microkernel.AUTO));
      float[] a = x.clone();
      float shift = 1.5f;
      CpuMath.expShifted(cpu, a, 2, x.length - 3, shift);
      for (int i = 0; i < x.length; i++) {
        String what = (cpu.vectorApi() ? "vector" : "scalar") + " path at x = " + x[i];
        if (i < 2 || i >= x.length - 3) {
          assertEquals(x[i], a[i], "left alone outside the range: " + what);
          continue;
        }
        assertEquals(CpuMath.exp(x[i] - shift), a[i], "the same bits as the scalar exp on the " + what);
      }
    }
  }

  @Test
  void expIsWithinTwoUlpOfMathExpOverFloatsWholeRange() {
    double worstUlps = 0;
    int checked = 0;
    // Floats in order as ints: −k for the negative float of bits k, so that a stride walks the line.
    int from = -(Float.floatToRawIntBits(110f)), to = Float.floatToRawIntBits(110f);
    for (long o = from; o <= to; o += 61) { // every 61st float, all exponents and many mantissas
      float x = o < 0 ? -Float.intBitsToFloat((int) -o) : Float.intBitsToFloat((int) o);
      double want = Math.exp(x);
      float got = CpuMath.exp(x);
      checked++;
      if (want > Float.MAX_VALUE * (1 + 0x1p-25)) {
        assertEquals(Float.POSITIVE_INFINITY, got, "exp(" + x + ") overflows");
        continue;
      }
      double ulps = Math.abs(got - want) / Math.ulp((float) want);
      assertTrue(ulps <= 2, "exp(" + x + "): want " + want + ", got " + got + ", " + ulps + " ulp");
      worstUlps = Math.max(worstUlps, ulps);
    }
    System.out.printf("exp over %d floats in (-110, 110): at most %.2f ulp from Math.exp%n", checked, worstUlps);
    assertEquals(0f, CpuMath.exp(Float.NEGATIVE_INFINITY));
    assertEquals(Float.POSITIVE_INFINITY, CpuMath.exp(Float.POSITIVE_INFINITY));
    assertTrue(Float.isNaN(CpuMath.exp(Float.NaN)));
    assertEquals(1f, CpuMath.exp(0f));
    assertEquals(1f, CpuMath.exp(-0f));
  }

  /**
   * The exponential, GELU and its gradient on the Vector API, in an interpreted JVM and here once
   * compiled: the same bits. The Vector API's own exponential differed between the two, and so a
   * resumed training run differed from the uninterrupted one.
   */
  @Test
  void vectorResultsDoNotDependOnTheJit() {
    String warm = "";
    for (int round = 0; round < 300; round++) warm = VectorBits.digest(); // long enough for C2
    ChildJvm.Result cold = ChildJvm.run(VectorBits.class,
        Map.of("JDK_JAVA_OPTIONS", "-Xint --add-modules jdk.incubator.vector"), 120);
    assertEquals(0, cold.exitCode(), cold.output());
    assertTrue(cold.output().strip().endsWith(warm), "interpreted: " + cold.output() + "\ncompiled: " + warm);
  }

  /** Prints a digest of the Vector API path's results over {@link #points()}. */
  public static final class VectorBits {
    public static void main(String[] args) {
      System.out.println(digest());
    }

    static String digest() {
      CpuContext cpu = new CpuContext(new CpuOptions(true, CpuOptions.Microkernel.AUTO));
      if (!cpu.vectorApi()) throw new IllegalStateException("no Vector API in this JVM");
      float[] x = points(), z = new float[x.length], dx = new float[x.length], e = x.clone();
      Arrays.fill(dx, 0.25f);
      CpuMath.gelu(cpu, x, z, 0, x.length);
      CpuMath.geluBackward(cpu, x, z, dx, 0, x.length, true);
      CpuMath.expShifted(cpu, e, 0, x.length, 0.5f);
      float[] g = new float[x.length];
      for (FusedActivation f : FusedActivation.values()) {
        CpuMath.activationGradient(cpu, f, x, 0, z, 0, g, 0, x.length, f.ordinal() % 2 == 0);
        CpuMath.activate(cpu, f, g, g, 0, x.length);
        dx[f.ordinal()] += CpuMath.sum(cpu, g, 0, x.length - f.ordinal());
      }
      return "vector path digest " + Arrays.hashCode(z) + " " + Arrays.hashCode(dx) + " " + Arrays.hashCode(e);
    }
  }

  /** Within a few float roundings, relative to the value or to 1 for values near 0. */
  private static void assertClose(double want, float got, String what) {
    double tolerance = 4e-7 * Math.max(1, Math.abs(want));
    assertTrue(Math.abs(got - want) <= tolerance, what + ": want " + want + ", got " + got);
  }
}
