package dev.nodal.ops;

import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.FusedActivation;

/** {@code z = 1 / (1 + e^-x)}; {@code dx += dz·z·(1 − z)}, computed from the output. */
public final class Sigmoid extends Activation {
  @Override
  public String kind() {
    return "sigmoid";
  }

  @Override
  boolean backwardFromOutput() {
    return true;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = FusedActivation.SIGMOID.apply(x[i]);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] z = out.data, dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) dx[i] += FusedActivation.SIGMOID.gradient(z[i], dz[i]);
  }
}
