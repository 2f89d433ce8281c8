package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.SplittableRandom;

/**
 * How a parameter gets its first values. Every initializer is deterministic given the
 * parameter's seed. Fan-in and fan-out follow the layouts of the layers: a dense weight
 * {@code [A, B]} ({@code Z = X·W}) has fan-in A and fan-out B; a convolution weight
 * {@code [K, C, R, S]} (PyTorch's layout, rank 3 or more) has fan-in C·R·S and fan-out K·R·S; a
 * 1-D parameter has both equal to its length.
 */
public sealed interface Init {

  float[] values(Shape shape, long seed);

  /** A readable description, also used in the graph file: {@code "he"}, {@code "uniform(-1,1)"}. */
  String describe();

  static Init zeros() {
    return new Constant(0f);
  }

  static Init constant(float value) {
    return new Constant(value);
  }

  static Init uniform(float low, float high) {
    return new Uniform(low, high);
  }

  static Init normal(float mean, float std) {
    return new Normal(mean, std);
  }

  /** Glorot uniform: U(±sqrt(6 / (fanIn + fanOut))). */
  static Init xavier() {
    return new Xavier();
  }

  /** He normal: N(0, sqrt(2 / fanIn)), for ReLU layers. */
  static Init he() {
    return new He();
  }

  /**
   * U(±1/sqrt(fanIn)): PyTorch's default for the weights of {@code Linear} and {@code Conv2d}
   * ({@code kaiming_uniform_} with {@code a = sqrt(5)}). Smaller than He's, which matters under
   * batch norm: the output does not change with the weight's scale, but its gradient shrinks as
   * the weight grows.
   */
  static Init fanInUniform() {
    return new FanInUniform();
  }

  /** The initializer that {@link #describe()} wrote. */
  static Init parse(String text) {
    String t = text.trim();
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\w+)(?:\\((.*)\\))?").matcher(t);
    if (!m.matches()) throw new IllegalArgumentException("unknown initializer '" + text + "'");
    String[] a = m.group(2) == null ? new String[0] : m.group(2).split(",");
    try {
      return switch (m.group(1)) {
        case "zeros" -> zeros();
        case "constant" -> constant(Float.parseFloat(a[0]));
        case "uniform" -> uniform(Float.parseFloat(a[0]), Float.parseFloat(a[1]));
        case "normal" -> normal(Float.parseFloat(a[0]), Float.parseFloat(a[1]));
        case "xavier" -> xavier();
        case "he" -> he();
        case "fan_in_uniform" -> fanInUniform();
        default -> throw new IllegalArgumentException("unknown initializer '" + text + "'");
      };
    } catch (ArrayIndexOutOfBoundsException | NumberFormatException e) {
      throw new IllegalArgumentException("malformed initializer '" + text + "'", e);
    }
  }

  record Constant(float value) implements Init {
    public float[] values(Shape shape, long seed) {
      float[] v = new float[shape.exampleSize()];
      java.util.Arrays.fill(v, value);
      return v;
    }

    public String describe() {
      return value == 0f ? "zeros" : "constant(" + value + ")";
    }
  }

  record Uniform(float low, float high) implements Init {
    public Uniform {
      if (!(high > low)) throw new IllegalArgumentException("uniform(" + low + ", " + high + "): high must exceed low");
    }

    public float[] values(Shape shape, long seed) {
      return uniform(shape.exampleSize(), low, high, seed);
    }

    public String describe() {
      return "uniform(" + low + "," + high + ")";
    }
  }

  record Normal(float mean, float std) implements Init {
    public Normal {
      if (!(std >= 0)) throw new IllegalArgumentException("normal(" + mean + ", " + std + "): std must be >= 0");
    }

    public float[] values(Shape shape, long seed) {
      return normal(shape.exampleSize(), mean, std, seed);
    }

    public String describe() {
      return "normal(" + mean + "," + std + ")";
    }
  }

  record Xavier() implements Init {
    public float[] values(Shape shape, long seed) {
      float a = (float) Math.sqrt(6.0 / (fanIn(shape) + fanOut(shape)));
      return uniform(shape.exampleSize(), -a, a, seed);
    }

    public String describe() {
      return "xavier";
    }
  }

  record FanInUniform() implements Init {
    public float[] values(Shape shape, long seed) {
      float a = (float) (1.0 / Math.sqrt(fanIn(shape)));
      return uniform(shape.exampleSize(), -a, a, seed);
    }

    public String describe() {
      return "fan_in_uniform";
    }
  }

  record He() implements Init {
    public float[] values(Shape shape, long seed) {
      return normal(shape.exampleSize(), 0f, (float) Math.sqrt(2.0 / fanIn(shape)), seed);
    }

    public String describe() {
      return "he";
    }
  }

  private static int fanIn(Shape s) {
    if (s.rank() >= 3) return s.exampleSize() / s.dim(0);
    return s.rank() == 2 ? s.dim(0) : s.exampleSize();
  }

  private static int fanOut(Shape s) {
    if (s.rank() >= 3) return s.exampleSize() / s.dim(1);
    return s.rank() == 2 ? s.dim(1) : s.exampleSize();
  }

  private static float[] uniform(int n, float low, float high, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (low + (high - low) * r.nextDouble());
    return v;
  }

  private static float[] normal(int n, float mean, float std, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (mean + std * r.nextGaussian());
    return v;
  }
}
