package dev.nodal.tensor;

import static dev.nodal.tensor.CpuMath.*;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise functions on the Vector API, in float, for whole vectors of a range; each returns
 * where it stopped, and the caller finishes the tail with its scalar form, which gives the same bits
 * (each lane goes through {@link CpuMath}'s operations in its order). Loaded only when the
 * {@code jdk.incubator.vector} module is present (see {@link CpuContext#vectorApi()}).
 */
final class VectorMath {
  private VectorMath() {}

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final FloatVector ONE = FloatVector.broadcast(S, 1f);

  /** {@link CpuMath#forward}'s vectors. */
  static int gelu(float[] x, float[] z, int from, int to) {
    int i = from;
    for (; i <= to - S.length(); i += S.length()) {
      FloatVector v = FloatVector.fromArray(S, x, i);
      v.div(expMinusTwoU(v).add(1f)).intoArray(z, i);
    }
    return i;
  }

  /** {@link CpuMath#backward}'s vectors. */
  static int geluBackward(float[] x, float[] dz, float[] dx, int from, int to, boolean add) {
    int i = from;
    for (; i <= to - S.length(); i += S.length()) {
      FloatVector v = FloatVector.fromArray(S, x, i);
      FloatVector e = expMinusTwoU(v), s = ONE.div(e.add(1f)); // σ(2u); 1 − σ(2u) = e·σ(2u)
      FloatVector slope = v.mul(v).mul(SLOPE).add(KF); // 2u'(x)
      FloatVector d = v.mul(s).mul(e.mul(s)).mul(slope).add(s);
      FloatVector g = FloatVector.fromArray(S, dz, i);
      if (add) g.fma(d, FloatVector.fromArray(S, dx, i)).intoArray(dx, i);
      else g.mul(d).intoArray(dx, i);
    }
    return i;
  }

  /** {@link CpuMath#expShifted}'s vectors. */
  static int expShifted(float[] a, int from, int to, float shift) {
    int i = from;
    for (; i <= to - S.length(); i += S.length()) {
      exp(FloatVector.fromArray(S, a, i).sub(shift)).intoArray(a, i);
    }
    return i;
  }

  /** {@link CpuMath#activate}'s vectors for ReLU: x < 0 ? 0 : x, so −0 and NaN pass through. */
  static int relu(float[] x, float[] z, int from, int to) {
    int i = from, vl = S.length();
    FloatVector zero = FloatVector.zero(S);
    for (; i <= to - vl; i += vl) {
      FloatVector v = FloatVector.fromArray(S, x, i);
      v.blend(zero, v.compare(VectorOperators.LT, 0f)).intoArray(z, i);
    }
    return i;
  }

  /**
   * {@link CpuMath#activationGradient}'s vectors: one loop with the switch on the activation inside
   * (0.25 ms per million elements for ReLU's gradient added, once compiled), each lane as
   * {@link FusedActivation#gradient}, added to {@code out} where {@code add} says so.
   */
  static int activationGradient(FusedActivation f, float[] z, int zOff, float[] dz, int dzOff, float[] out, int outOff,
      int n, boolean add) {
    int i = 0, vl = S.length();
    FloatVector zero = FloatVector.zero(S);
    for (; i <= n - vl; i += vl) {
      FloatVector zv = FloatVector.fromArray(S, z, zOff + i), g = FloatVector.fromArray(S, dz, dzOff + i);
      FloatVector v = switch (f) {
        case NONE -> g;
        case RELU -> zero.blend(g, zv.compare(VectorOperators.GT, 0f)); // z > 0 ? dz : +0, NaN z giving 0
        case SIGMOID -> g.mul(zv).mul(ONE.sub(zv)); // dz·z·(1 − z)
        case TANH -> g.mul(ONE.sub(zv.mul(zv))); // dz·(1 − z²)
      };
      if (add) v = FloatVector.fromArray(S, out, outOff + i).add(v);
      v.intoArray(out, outOff + i);
    }
    return i;
  }

  /**
   * {@link CpuMath#sum}'s vectors: lane j sums elements from + j, from + j + lanes, … in float;
   * then the lanes, then the tail, in order in double.
   */
  static float sum(float[] a, int from, int to) {
    int vl = S.length(), i = from;
    FloatVector acc = FloatVector.zero(S);
    for (; i <= to - vl; i += vl) acc = acc.add(FloatVector.fromArray(S, a, i));
    double s = 0;
    for (int j = 0; j < vl; j++) s += acc.lane(j);
    for (; i < to; i++) s += a[i];
    return (float) s;
  }

  /** {@code exp(−2u)}, {@code −2u = −K·x·(1 + C·x²)} capped at {@link CpuMath#CAP}. */
  private static FloatVector expMinusTwoU(FloatVector v) {
    return exp(v.mul(v).mul(CF).add(1f).mul(v).mul(-KF).min(CAP));
  }

  /** {@link CpuMath#exp} on every lane, operation for operation. */
  static FloatVector exp(FloatVector x) {
    FloatVector c = x.max(EXP_LO).min(EXP_HI);
    FloatVector t = c.mul(LOG2E).add(ROUND);
    FloatVector n = t.sub(ROUND);
    FloatVector r = c.sub(n.mul(LN2_HI)).sub(n.mul(LN2_LO));
    FloatVector p = r.mul(P0).add(P1).mul(r).add(P2).mul(r).add(P3).mul(r).add(P4).mul(r).add(P5);
    p = p.mul(r.mul(r)).add(r).add(1f);
    IntVector k = ((IntVector) t.reinterpretAsInts()).sub(ROUND_BITS), h = k.lanewise(VectorOperators.ASHR, 1);
    FloatVector low = (FloatVector) h.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    FloatVector high = (FloatVector) k.sub(h).add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
    return p.mul(low).mul(high);
  }
}
