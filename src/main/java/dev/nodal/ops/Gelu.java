package dev.nodal.ops;

import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuTensor;

/**
 * GELU in its tanh form, as PyTorch's {@code gelu(x, approximate="tanh")}:
 *
 * <pre>
 * z  = ½·x·(1 + tanh u),   u = √(2/π)·(x + 0.044715·x³)
 * dx += dz·(½·(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²))
 * </pre>
 *
 * computed from the input.
 */
public final class Gelu extends Activation {
  static final double SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
  static final double C = 0.044715;

  @Override
  public String kind() {
    return "gelu";
  }

  @Override
  boolean backwardFromOutput() {
    return false;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) {
      double v = x[i];
      z[i] = (float) (0.5 * v * (1 + Math.tanh(SQRT_2_OVER_PI * (v + C * v * v * v))));
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) {
      double v = x[i];
      double t = Math.tanh(SQRT_2_OVER_PI * (v + C * v * v * v));
      double d = 0.5 * (1 + t) + 0.5 * v * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * C * v * v);
      dx[i] += (float) (dz[i] * d);
    }
  }
}
