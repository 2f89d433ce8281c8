package dev.nodal.ops;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuTensor;
import java.util.Map;

/**
 * {@code z = x} where {@code x > 0}, else {@code slope·x}; {@code dx += dz} or {@code slope·dz}.
 * As PyTorch's {@code leaky_relu}, whose default slope is 0.01.
 */
public final class LeakyRelu extends Activation {
  private final float slope;

  public LeakyRelu(float slope) {
    if (!Float.isFinite(slope)) throw new IllegalArgumentException("leaky_relu slope must be finite, got " + slope);
    this.slope = slope;
  }

  @Override
  public String kind() {
    return "leaky_relu";
  }

  @Override
  public Map<String, Object> attributes() {
    return Map.of("slope", slope);
  }

  @Override
  boolean backwardFromOutput() {
    return false;
  }

  @Override
  Object[] kernelArgs() {
    return new Object[] {slope};
  }

  @Override
  Kernel withKernelParams(Kernel kernel) {
    return kernel.floats("slope");
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = x[i] > 0f ? x[i] : slope * x[i];
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) dx[i] += x[i] > 0f ? dz[i] : slope * dz[i];
  }
}
