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

/** Elementwise product {@code z = a ⊙ b} of two tensors of one shape; {@code da += dz⊙b, db += dz⊙a}. */
public final class Mul implements Op {
  private static final Kernel FORWARD = Kernel.of("mul", "mul_forward").ints("n").buffers("a", "b", "z");
  private static final Kernel BACKWARD = Kernel.of("mul", "mul_backward").ints("n").buffers("other", "dz", "dx")
      .ints("acc");

  @Override
  public String kind() {
    return "mul";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("a", "b");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    if (!c.in(0).equals(c.in(1))) {
      throw c.error("'%s' %s and '%s' %s must have the same shape", c.name(0), c.in(0), c.name(1), c.in(1));
    }
    return c.in(0);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] a = in[0].data, b = in[1].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = a[i] * b[i];
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] a = in[0].data, b = in[1].data, dz = dOut.data;
    int n = out.size();
    if (dIn[0] != null) {
      float[] da = dIn[0].data;
      for (int i = 0; i < n; i++) da[i] += dz[i] * b[i];
    }
    if (dIn[1] != null) {
      float[] db = dIn[1].data;
      for (int i = 0; i < n; i++) db[i] += dz[i] * a[i];
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(FORWARD, over(n), n, k.in(0), k.in(1), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    if (k.dIn(0) != null) k.launch(BACKWARD, over(n), n, k.in(1), k.dOut(), k.dIn(0), k.accumulate(0));
    if (k.dIn(1) != null) k.launch(BACKWARD, over(n), n, k.in(0), k.dOut(), k.dIn(1), k.accumulate(1));
  }
}
