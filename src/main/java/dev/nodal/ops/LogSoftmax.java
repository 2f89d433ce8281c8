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
 * Log-softmax along the last dimension through log-sum-exp, as PyTorch's
 * {@code log_softmax(x, dim=-1)}: {@code z = x − max − log Σ_j e^(x_j − max)} per row, every leading
 * dimension counting as rows. Backward, from the output: {@code dx = dz − e^z · Σ_j dz_j} per row.
 * With {@link Nll} it is PyTorch's {@code log_softmax} + {@code nll_loss}, the unfused form of
 * {@link SoftmaxCrossEntropy}.
 *
 * <p>It has no causal mask, unlike {@link Softmax}: masked positions would be {@code −inf}, which a
 * loss downstream cannot consume; mask attention weights with {@code new Softmax(true)}.
 */
public final class LogSoftmax implements Op {
  private static final Kernel FORWARD = Kernel.of("log_softmax", "log_softmax_forward").ints("rows", "cols")
      .buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("log_softmax", "log_softmax_backward").ints("rows", "cols")
      .buffers("z", "dz", "dx").ints("acc");

  @Override
  public String kind() {
    return "log_softmax";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return Softmax.requireRows(c);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int cols = out.shape.dim(-1), rows = out.size() / cols;
    float[] x = in[0].data, z = out.data;
    for (int r = 0; r < rows; r++) {
      int off = r * cols;
      float max = Softmax.rowMax(x, off, cols);
      float log = (float) Math.log(Softmax.expSum(x, off, cols, max));
      for (int j = 0; j < cols; j++) z[off + j] = x[off + j] - max - log;
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int cols = out.shape.dim(-1), rows = out.size() / cols;
    float[] z = out.data, dz = dOut.data, dx = dIn[0].data;
    for (int r = 0; r < rows; r++) {
      int off = r * cols;
      double sum = 0;
      for (int j = 0; j < cols; j++) sum += dz[off + j];
      for (int j = 0; j < cols; j++) dx[off + j] += dz[off + j] - (float) Math.exp(z[off + j]) * (float) sum;
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int cols = k.outShape().dim(-1), rows = k.outShape().size(0) / cols;
    k.launch(FORWARD, over(rows), rows, cols, k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int cols = k.outShape().dim(-1), rows = k.outShape().size(0) / cols;
    k.launch(BACKWARD, over(rows), rows, cols, k.out(), k.dOut(), k.dIn(0), k.accumulate(0));
  }

  /** Each output sums C exponentials (forward) or C gradients (backward). */
  @Override
  public int reductionLength(Shape[] in) {
    return in[0].dim(-1);
  }
}
