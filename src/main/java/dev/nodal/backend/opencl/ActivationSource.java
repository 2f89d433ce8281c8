package dev.nodal.backend.opencl;

import dev.nodal.tensor.FusedActivation;
import java.util.Locale;

/**
 * The OpenCL form of {@link FusedActivation}, generated from the enum: a define
 * {@code ACT_<NAME>} with each constant's {@link FusedActivation#code()}, and the functions
 * {@code activate(act, x)} and {@code activation_grad(act, z, dz)} that the kernels call, spliced
 * into {@code common.h} in place of the line {@code NODAL_ACTIVATIONS}. The switches below are
 * exhaustive: an activation added to the enum without its OpenCL form does not compile, and codes
 * come from the enum, never from its order.
 */
final class ActivationSource {
  /** The line of {@code common.h} that the generated code replaces. */
  static final String MARKER = "NODAL_ACTIVATIONS";

  private ActivationSource() {}

  /** f(x) in OpenCL C, of the float {@code x}. */
  static String forward(FusedActivation a) {
    return switch (a) {
      case NONE -> "x";
      case RELU -> "x < 0.0f ? 0.0f : x"; // NaN passes through, as on the CPU
      case SIGMOID -> "1.0f / (1.0f + exp(-x))";
      case TANH -> "tanh(x)";
    };
  }

  /** dL/dx in OpenCL C, of the output {@code z} and {@code dz}. */
  static String gradient(FusedActivation a) {
    return switch (a) {
      case NONE -> "dz";
      case RELU -> "z > 0.0f ? dz : 0.0f";
      case SIGMOID -> "dz * z * (1.0f - z)";
      case TANH -> "dz * (1.0f - z * z)";
    };
  }

  /** The defines and both functions. */
  static String code() {
    StringBuilder defines = new StringBuilder(), forward = new StringBuilder(), backward = new StringBuilder();
    for (FusedActivation a : FusedActivation.values()) {
      String name = "ACT_" + a.name().toUpperCase(Locale.ROOT);
      defines.append("#define ").append(name).append(' ').append(a.code()).append('\n');
      if (a == FusedActivation.NONE) continue;
      forward.append("    case ").append(name).append(": return ").append(forward(a)).append(";\n");
      backward.append("    case ").append(name).append(": return ").append(gradient(a)).append(";\n");
    }
    return defines
        + "inline float activate(const int act, const float x) {\n  switch (act) {\n" + forward
        + "    default: return " + forward(FusedActivation.NONE) + ";\n  }\n}\n"
        + "inline float activation_grad(const int act, const float z, const float dz) {\n  switch (act) {\n" + backward
        + "    default: return " + gradient(FusedActivation.NONE) + ";\n  }\n}\n";
  }
}
