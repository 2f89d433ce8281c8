package dev.nodal.ops;

import dev.nodal.backend.cpu.CpuTensor;
import dev.nodal.graph.Shape;
import java.util.List;

/** {@code z = max(x, 0)}; {@code dx += dz} where {@code x > 0}. */
public final class Relu implements Op {
  @Override
  public String kind() {
    return "relu";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return c.in(0);
  }

  @Override
  public void forward(CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = x[i] > 0f ? x[i] : 0f;
  }

  @Override
  public void backward(CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) if (x[i] > 0f) dx[i] += dz[i];
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch("relu.cl", "relu_forward", n, n, k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch("relu.cl", "relu_backward", n, n, k.in(0), k.dOut(), k.dIn(0));
  }
}
