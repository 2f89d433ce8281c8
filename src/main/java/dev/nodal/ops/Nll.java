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
 * Negative log-likelihood of class labels under log-probabilities {@code [N, ..., C]} (from
 * {@link LogSoftmax}) with labels {@code [N, ...]}, one per row of C, averaged over the R rows, as
 * PyTorch's {@code nll_loss(logp.reshape(-1, C), y.reshape(-1))}:
 * {@code L = −(1/R) Σ_r logp[r, y_r]}. Backward: {@code dlogp[r, y_r] += −dL/R}, 0 elsewhere; the
 * labels get no gradient.
 */
public final class Nll implements Op {
  private static final Kernel FORWARD = Kernel.of("nll", "nll_forward").ints("rows", "cols")
      .buffers("logp", "y", "loss").groupScratch("scratch");
  private static final Kernel BACKWARD = Kernel.of("nll", "nll_backward").ints("rows", "cols")
      .buffers("y", "dloss", "dx").ints("acc");

  @Override
  public String kind() {
    return "nll";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("logp", "labels");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return SoftmaxCrossEntropy.scoresAndLabels(c);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int cols = in[0].dim(-1), rows = in[0].size() / cols;
    float[] logp = in[0].data, y = in[1].data;
    double total = 0;
    for (int r = 0; r < rows; r++) total -= logp[r * cols + (int) y[r]];
    out.data[0] = (float) (total / rows);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    if (dIn[0] == null) return;
    int cols = in[0].dim(-1), rows = in[0].size() / cols;
    float[] y = in[1].data, dx = dIn[0].data;
    float g = -dOut.data[0] / rows;
    for (int r = 0; r < rows; r++) dx[r * cols + (int) y[r]] += g;
  }

  @Override
  public void forwardKernels(Launcher k) {
    int cols = k.inShape(0).dim(-1), rows = k.inShape(0).size(0) / cols;
    k.launchGroup(FORWARD, rows, cols, k.in(0), k.in(1), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    if (k.dIn(0) == null) return;
    int cols = k.inShape(0).dim(-1), rows = k.inShape(0).size(0) / cols;
    k.launch(BACKWARD, over(rows), rows, cols, k.in(1), k.dOut(), k.dIn(0), k.accumulate(0));
  }

  /** The loss sums one term per row. */
  @Override
  public int reductionLength(Shape[] in) {
    return in[0].size(0) / in[0].dim(-1);
  }
}
