package dev.nodal.tensor;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * Elementwise functions on the Vector API, in float, for whole vectors of a range; each returns
 * where it stopped, and the caller finishes the tail with its scalar form. Loaded only when the
 * {@code jdk.incubator.vector} module is present (see {@link CpuContext#vectorApi()}).
 */
final class VectorMath {
  private VectorMath() {}

  private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
  private static final float K = (float) CpuMath.K;
  private static final float C = (float) CpuMath.C;
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
      FloatVector slope = v.mul(v).mul(3 * C * K).add(K); // 2u'(x)
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
      FloatVector.fromArray(S, a, i).sub(shift).lanewise(VectorOperators.EXP).intoArray(a, i);
    }
    return i;
  }

  /** {@code exp(−2u)}, {@code −2u = −K·x·(1 + C·x²)} capped at {@link CpuMath#CAP}. */
  private static FloatVector expMinusTwoU(FloatVector v) {
    return v.mul(v).mul(C).add(1f).mul(v).mul(-K).min(CpuMath.CAP).lanewise(VectorOperators.EXP);
  }
}
