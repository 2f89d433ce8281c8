package dev.nodal.tensor;

import java.util.Locale;

/**
 * The activations whose derivative is a function of their output, defined once: the relu,
 * sigmoid and tanh nodes are these, and a dense layer or convolution applies one to its result as
 * it is written (see {@link Epilogue}), keeping no pre-activation values for backward. The name
 * ({@link #attribute()}) is the node's kind and the graph file's {@code activation} attribute, the
 * formulas below are the CPU's, and a backend generates its own form from the constants (OpenCL:
 * the {@code ACT_<NAME>} defines, {@code activate} and {@code activation_grad}), keyed by
 * {@link #code()}, which each constant fixes and never its position.
 */
public enum FusedActivation {
  NONE(0), RELU(1), SIGMOID(2), TANH(3);

  private final int code;

  FusedActivation(int code) {
    this.code = code;
  }

  /** The name in graph files and messages: {@code none}, {@code relu}, {@code sigmoid}, {@code tanh}. */
  public String attribute() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** Every activation's name, in order: the choices of an {@code activation} attribute. */
  public static java.util.List<String> names() {
    return java.util.Arrays.stream(values()).map(FusedActivation::attribute).toList();
  }

  /** The activation named {@code value}; refused, naming {@code owner} and the choices, otherwise. */
  public static FusedActivation parse(String owner, Object value) {
    for (FusedActivation a : values()) if (a.attribute().equals(String.valueOf(value))) return a;
    throw new IllegalArgumentException(owner + ": attribute 'activation' must be none, relu, sigmoid or tanh, not '"
        + value + "'");
  }

  /** The number kernels switch on: fixed per constant, so reordering the enum changes nothing. */
  public int code() {
    return code;
  }

  /** f(x). */
  public float apply(float x) {
    return switch (this) {
      case NONE -> x;
      case RELU -> x < 0f ? 0f : x; // NaN passes through, as PyTorch's relu
      case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
      case TANH -> (float) tanh(x);
    };
  }

  /**
   * tanh through {@link Math#exp}, to about 1e-15 relative. Java 17's {@code Math.tanh} is a native
   * call to {@code StrictMath} that costs about 20 times as much: it made GELU the larger part of a
   * transformer's training step on the CPU.
   */
  public static double tanh(double x) {
    double a = Math.abs(x);
    if (a < 0x1p-4) { // Taylor series: the form below would cancel; the next term is below 1e-17 relative
      double x2 = x * x;
      return x * (1 - x2 * (1.0 / 3 - x2 * (2.0 / 15 - x2 * (17.0 / 315 - x2 * (62.0 / 2835)))));
    }
    double t = 1 - 2 / (Math.exp(2 * a) + 1); // exp overflows to infinity for large a: t = 1
    return x < 0 ? -t : t; // NaN stays NaN
  }

  /** dL/dx from dL/dz and the output z = f(x). */
  public float gradient(float z, float dz) {
    return switch (this) {
      case NONE -> dz;
      case RELU -> z > 0f ? dz : 0f;
      case SIGMOID -> dz * z * (1f - z);
      case TANH -> dz * (1f - z * z);
    };
  }
}
