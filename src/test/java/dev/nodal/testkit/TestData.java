package dev.nodal.testkit;

import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.SplittableRandom;

/** Seeded test tensors. */
public final class TestData {
  private TestData() {}

  /**
   * Values in ±[0.1, 1): away from zero, so that ReLU's kink is never within a finite-difference
   * step of an input.
   */
  public static float[] awayFromZero(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) ((0.1 + 0.9 * r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
    return v;
  }

  public static CpuTensor tensor(long seed, int... dims) {
    Shape s = Shape.of(dims);
    return new CpuTensor(awayFromZero(s.size(0), seed), s);
  }

  /** Class indices in [0, classes), stored as floats. */
  public static CpuTensor labels(long seed, int n, int classes) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = r.nextInt(classes);
    return new CpuTensor(v, Shape.of(n));
  }
}
