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

/**
 * Mean squared error {@code L = (1/M) Σ (p − t)²} over all M elements of two tensors of one shape.
 * Output: a scalar. Backward: {@code dp += dL·2(p − t)/M}, {@code dt −= the same}.
 */
public final class Mse implements Op {
  private static final Kernel FORWARD = Kernel.of("mse", "mse_forward").ints("m").buffers("p", "t", "loss")
      .groupScratch("scratch");
  private static final Kernel BACKWARD = Kernel.of("mse", "mse_backward").ints("m").floats("sign")
      .buffers("p", "t", "dloss", "dx").ints("acc");

  @Override
  public String kind() {
    return "mse";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("prediction", "target");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    if (!c.in(0).equals(c.in(1))) {
      throw c.error("prediction '%s' %s and target '%s' %s must have the same shape",
          c.name(0), c.in(0), c.name(1), c.in(1));
    }
    return Shape.scalar();
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] p = in[0].data, t = in[1].data;
    int m = in[0].size();
    double sum = 0;
    for (int i = 0; i < m; i++) {
      double d = p[i] - t[i];
      sum += d * d;
    }
    out.data[0] = (float) (sum / m);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] p = in[0].data, t = in[1].data;
    int m = in[0].size();
    float k = 2f * dOut.data[0] / m;
    if (dIn[0] != null) {
      float[] dp = dIn[0].data;
      for (int i = 0; i < m; i++) dp[i] += k * (p[i] - t[i]);
    }
    if (dIn[1] != null) {
      float[] dt = dIn[1].data;
      for (int i = 0; i < m; i++) dt[i] -= k * (p[i] - t[i]);
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int m = k.inShape(0).size(0);
    k.launchGroup(FORWARD, m, k.in(0), k.in(1), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int m = k.inShape(0).size(0);
    if (k.dIn(0) != null) k.launch(BACKWARD, over(m), m, 1f, k.in(0), k.in(1), k.dOut(), k.dIn(0), k.accumulate(0));
    if (k.dIn(1) != null) k.launch(BACKWARD, over(m), m, -1f, k.in(0), k.in(1), k.dOut(), k.dIn(1), k.accumulate(1));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return in[0].size(0);
  }
}
