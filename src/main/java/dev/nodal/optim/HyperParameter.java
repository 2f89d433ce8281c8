package dev.nodal.optim;

import java.util.Locale;

/**
 * One hyper-parameter of an optimizer, defined once: its name (in graph files, in trainer.json
 * and on the command line's {@code --opt}), its type (a number or true/false), its default and
 * the range a value must lie in. Each spec lists its own ({@link OptimizerSpec#keys()}):
 * {@link Optimizers} reads values by them, the spec's constructor checks values against them,
 * and the builders start from their defaults.
 */
public final class HyperParameter {
  private final String name;
  private final boolean flag;
  private final float defaultNumber;
  private final boolean defaultFlag;
  private final double min, max;
  private final boolean minIncluded, maxIncluded;

  private HyperParameter(String name, boolean flag, float defaultNumber, boolean defaultFlag, double min,
      boolean minIncluded, double max, boolean maxIncluded) {
    this.name = name;
    this.flag = flag;
    this.defaultNumber = defaultNumber;
    this.defaultFlag = defaultFlag;
    this.min = min;
    this.minIncluded = minIncluded;
    this.max = max;
    this.maxIncluded = maxIncluded;
  }

  /** A finite float from {@code min} (included or not) up to {@code max} (excluded; infinity for none). */
  static HyperParameter number(String name, float defaultValue, double min, boolean minIncluded, double max) {
    return new HyperParameter(name, false, defaultValue, false, min, minIncluded, max, false);
  }

  /** true or false. */
  static HyperParameter flag(String name, boolean defaultValue) {
    return new HyperParameter(name, true, 0f, defaultValue, 0, false, 0, false);
  }

  /** The learning rate: above 0. */
  static HyperParameter learningRate(float defaultValue) {
    return number("lr", defaultValue, 0, false, Double.POSITIVE_INFINITY);
  }

  /** Weight decay: 0 or more. */
  static HyperParameter weightDecay(float defaultValue) {
    return number("weight_decay", defaultValue, 0, true, Double.POSITIVE_INFINITY);
  }

  /** The global gradient norm to clip to: 0 (no clipping) or more. */
  static final HyperParameter CLIP_NORM = number("clip_norm", 0f, 0, true, Double.POSITIVE_INFINITY);

  /** A factor of a moving average (momentum, β): from 0 up to, not including, 1. */
  static HyperParameter factor(String name, float defaultValue) {
    return number(name, defaultValue, 0, true, 1);
  }

  public String name() {
    return name;
  }

  /** True for a true/false setting, false for a number. */
  public boolean isFlag() {
    return flag;
  }

  /** The default: a {@link Float} or, for a flag, a {@link Boolean}. */
  public Object defaultValue() {
    return flag ? (Object) defaultFlag : (Object) defaultNumber;
  }

  float defaultNumber() {
    return defaultNumber;
  }

  boolean defaultFlag() {
    return defaultFlag;
  }

  /** The values allowed, as people write them: {@code > 0}, {@code >= 0}, {@code in [0, 1)}, {@code true or false}. */
  public String range() {
    if (flag) return "true or false";
    if (Double.isInfinite(max)) return (minIncluded ? ">= " : "> ") + format(min);
    return "in " + (minIncluded ? "[" : "(") + format(min) + ", " + format(max) + (maxIncluded ? "]" : ")");
  }

  private static String format(double v) {
    return v == Math.rint(v) ? Long.toString((long) v) : Double.toString(v);
  }

  /** True when {@code v} is finite and in range. */
  public boolean allows(float v) {
    if (flag || !Float.isFinite(v)) return false;
    return (minIncluded ? v >= min : v > min) && (maxIncluded ? v <= max : v < max);
  }

  /** Returns {@code v}, or throws an error that names {@code optimizer}, the key, the value and the range. */
  float check(String optimizer, float v) {
    if (!allows(v)) throw new IllegalArgumentException(optimizer + ": " + name + " out of range: " + v + " (" + range() + ")");
    return v;
  }

  /**
   * The value {@code given} (a number, a boolean, or either as text, as the command line and
   * files give them) as this key's type: a {@link Float} or a {@link Boolean}. The range is the
   * spec's to check.
   */
  Object read(String optimizer, Object given) {
    if (flag) {
      if (given instanceof Boolean b) return b;
      String s = String.valueOf(given).trim();
      if (s.equals("true") || s.equals("false")) return Boolean.parseBoolean(s);
      throw new IllegalArgumentException(optimizer + ": " + name + "=" + given + " is not true or false");
    }
    if (given instanceof Number n) return n.floatValue();
    try {
      return Float.parseFloat(String.valueOf(given).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(optimizer + ": " + name + "=" + given + " is not a number");
    }
  }

  /** {@code lr (> 0, default 0.01)}. */
  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s (%s, default %s)", name, range(), defaultValue());
  }
}
