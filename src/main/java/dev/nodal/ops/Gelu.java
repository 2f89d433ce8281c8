package dev.nodal.ops;

import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.CpuMath;

/**
 * GELU in its tanh form, as PyTorch's {@code gelu(x, approximate="tanh")}:
 *
 * <pre>
 * z  = ½·x·(1 + tanh u),   u = √(2/π)·(x + 0.044715·x³)
 * dx += dz·(½·(1 + tanh u) + ½·x·(1 − tanh² u)·√(2/π)·(1 + 3·0.044715·x²))
 * </pre>
 *
 * computed from the input; on the CPU by {@link CpuMath}, as {@code x·σ(2u)}.
 */
public final class Gelu extends Activation {
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
    chunks(out.size(), (from, to) -> CpuMath.gelu(pass.cpu(), x, z, from, to));
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    boolean add = !pass.overwrites(0);
    chunks(out.size(), (from, to) -> CpuMath.geluBackward(pass.cpu(), x, dz, dx, from, to, add));
  }

  @Override
  public boolean overwritesGradients() {
    return true;
  }
}
