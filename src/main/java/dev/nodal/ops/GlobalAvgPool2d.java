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
 * Global average pooling of NCHW images, as PyTorch's {@code adaptive_avg_pool2d(x, 1).flatten(1)}:
 * {@code x [N, C, H, W]} gives {@code z [N, C]}, each the mean of its H×W plane. Backward spreads
 * each {@code dz} evenly: {@code dx = dz/(H·W)}.
 */
public final class GlobalAvgPool2d implements Op {
  private static final Kernel FORWARD = Kernel.of("global_avg_pool2d", "global_avg_pool2d_forward")
      .ints("planes", "hw").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("global_avg_pool2d", "global_avg_pool2d_backward")
      .ints("planes", "hw").buffers("dz", "dx").ints("acc");

  @Override
  public String kind() {
    return "global_avg_pool2d";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 4, "NCHW images");
    return Shape.of(c.in(0).dim(0), c.in(0).dim(1));
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int planes = out.size(), hw = in[0].size() / Math.max(1, planes);
    float[] x = in[0].data, z = out.data;
    for (int p = 0; p < planes; p++) {
      double sum = 0;
      for (int i = 0; i < hw; i++) sum += x[p * hw + i];
      z[p] = (float) (sum / hw);
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int planes = out.size(), hw = in[0].size() / Math.max(1, planes);
    float[] dz = dOut.data, dx = dIn[0].data;
    for (int e = 0; e < planes * hw; e++) dx[e] += dz[e / hw] / hw;
  }

  @Override
  public void forwardKernels(Launcher l) {
    int planes = l.outShape().size(0), hw = l.inShape(0).dim(2) * l.inShape(0).dim(3);
    l.launch(FORWARD, over(planes), planes, hw, l.in(0), l.out());
  }

  @Override
  public void backwardKernels(Launcher l) {
    int planes = l.outShape().size(0), hw = l.inShape(0).dim(2) * l.inShape(0).dim(3);
    l.launch(BACKWARD, over(planes * hw), planes, hw, l.dOut(), l.dIn(0),
        l.accumulate(0));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return in[0].dim(2) * in[0].dim(3);
  }
}
