package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Map;

/** Multiplication by a constant, {@code z = c·x}; used to weight losses. {@code dx += c·dz}. */
public final class Scale implements Op {
  private static final Kernel FORWARD = Kernel.of("scale", "scale_forward").ints("n").floats("c").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("scale", "scale_backward").ints("n").floats("c")
      .buffers("dz", "dx").ints("acc");

  private final float factor;

  public Scale(float factor) {
    if (!Float.isFinite(factor)) throw new IllegalArgumentException("scale factor must be finite, got " + factor);
    this.factor = factor;
  }

  public float factor() {
    return factor;
  }

  @Override
  public String kind() {
    return "scale";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Map<String, Object> attributes() {
    return Map.of("factor", factor);
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return c.in(0);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = factor * x[i];
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] dx = dIn[0].data, dz = dOut.data;
    for (int i = 0, n = out.size(); i < n; i++) dx[i] += factor * dz[i];
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(FORWARD, over(n), n, factor, k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(BACKWARD, over(n), n, factor, k.dOut(), k.dIn(0), k.accumulate(0));
  }
}
