package dev.nodal.ops;

import dev.nodal.backend.cpu.CpuTensor;
import dev.nodal.graph.Shape;
import java.util.List;

/** {@code z = 1 / (1 + e^-x)}; {@code dx += dz·z·(1 − z)}, computed from the output. */
public final class Sigmoid implements Op {
  @Override
  public String kind() {
    return "sigmoid";
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
    for (int i = 0, n = out.size(); i < n; i++) z[i] = (float) (1.0 / (1.0 + Math.exp(-x[i])));
  }

  @Override
  public void backward(CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] z = out.data, dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) dx[i] += dz[i] * z[i] * (1f - z[i]);
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch("sigmoid.cl", "sigmoid_forward", n, n, k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch("sigmoid.cl", "sigmoid_backward", n, n, k.out(), k.dOut(), k.dIn(0));
  }
}
