package dev.nodal.ops;

import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.FusedActivation;

/** {@code z = max(x, 0)} (NaN stays NaN, as in PyTorch); {@code dx += dz} where {@code x > 0}. */
public final class Relu extends Activation {
  @Override
  public String kind() {
    return "relu";
  }

  @Override
  boolean backwardFromOutput() {
    return false;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    chunks(out.size(), (from, to) -> {
      for (int i = from; i < to; i++) z[i] = FusedActivation.RELU.apply(x[i]);
    });
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    chunks(out.size(), (from, to) -> {
      for (int i = from; i < to; i++) if (x[i] > 0f) dx[i] += dz[i];
    });
  }
}
