package dev.nodal.tensor;

import java.util.Locale;

/**
 * An activation applied to a product's result as it is written (see {@link Epilogue}), with the
 * same formulas as the relu, sigmoid and tanh nodes. Each one's derivative is a function of its
 * output, so a layer that fuses it keeps no pre-activation values for backward. The OpenCL
 * kernels take {@link #code()} ({@code activate} and {@code activation_grad} in
 * {@code kernels/common.h}).
 */
public enum FusedActivation {
  NONE, RELU, SIGMOID, TANH;

  /** The name in graph files and messages: {@code none}, {@code relu}, {@code sigmoid}, {@code tanh}. */
  public String attribute() {
    return name().toLowerCase(Locale.ROOT);
  }

  /** The activation named {@code value}; refused, naming {@code owner} and the choices, otherwise. */
  public static FusedActivation parse(String owner, Object value) {
    for (FusedActivation a : values()) if (a.attribute().equals(String.valueOf(value))) return a;
    throw new IllegalArgumentException(owner + ": attribute 'activation' must be none, relu, sigmoid or tanh, not '"
        + value + "'");
  }

  /** The number the kernels switch on. */
  public int code() {
    return ordinal();
  }

  /** f(x). */
  public float apply(float x) {
    return switch (this) {
      case NONE -> x;
      case RELU -> x < 0f ? 0f : x; // NaN passes through, as PyTorch's relu
      case SIGMOID -> (float) (1.0 / (1.0 + Math.exp(-x)));
      case TANH -> (float) Math.tanh(x);
    };
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
