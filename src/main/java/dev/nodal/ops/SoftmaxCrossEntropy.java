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
 * Softmax followed by cross-entropy against integer class labels, fused:
 * {@code L = (1/N) Σ_n [logsumexp(x_n) − x_n[y_n]]}, computed through log-sum-exp so that large
 * scores do not overflow. Inputs: logits N×C and labels N (a labels input holding class indices).
 * Output: a scalar. Backward: {@code dx_n += dL · (softmax(x_n) − onehot(y_n)) / N}, where dL is
 * the incoming gradient, so the loss also works inside a larger expression. Labels get no
 * gradient.
 */
public final class SoftmaxCrossEntropy implements Op {
  private static final Kernel FORWARD = Kernel.of("softmax_cross_entropy", "softmax_cross_entropy_forward")
      .ints("rows", "cols").buffers("x", "y", "loss").groupScratch("scratch");
  private static final Kernel BACKWARD = Kernel.of("softmax_cross_entropy", "softmax_cross_entropy_backward")
      .ints("rows", "cols").buffers("x", "y", "dloss", "dx").ints("acc");

  @Override
  public String kind() {
    return "softmax_cross_entropy";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("logits", "labels");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return scoresAndLabels(c);
  }

  /**
   * The shape rule of a loss over a batch of score rows and their class labels (also
   * {@link Nll}'s): input 0 is N×C, input 1 a labels input of N indices below C; a scalar.
   */
  static Shape scoresAndLabels(ShapeContext c) {
    c.requireRank(0, 2, "a batch of logit rows");
    c.requireRank(1, 1, "a vector of class indices");
    if (!c.isLabels(1)) {
      throw c.error("labels '%s' must be a labels input (GraphBuilder.labels), not a %s",
          c.name(1), c.node(1).kind());
    }
    if (c.in(0).dim(0) != c.in(1).dim(0)) {
      throw c.error("logits '%s' %s and labels '%s' %s have different batch sizes",
          c.name(0), c.in(0), c.name(1), c.in(1));
    }
    int classes = c.in(0).dim(1);
    int labelClasses = ((dev.nodal.graph.Input) c.node(1)).classes();
    if (labelClasses != classes) {
      throw c.error("logits '%s' have %d classes, labels '%s' declare %d", c.name(0), classes, c.name(1), labelClasses);
    }
    return Shape.scalar();
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int rows = in[0].dim(0), cols = in[0].dim(1);
    float[] x = in[0].data, y = in[1].data;
    double total = 0;
    for (int r = 0; r < rows; r++) {
      int off = r * cols;
      float max = Softmax.rowMax(x, off, cols);
      total += max + Math.log(Softmax.expSum(x, off, cols, max)) - x[off + (int) y[r]];
    }
    out.data[0] = (float) (total / rows);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    if (dIn[0] == null) return;
    int rows = in[0].dim(0), cols = in[0].dim(1);
    float[] x = in[0].data, y = in[1].data, dx = dIn[0].data;
    float scale = dOut.data[0] / rows;
    for (int r = 0; r < rows; r++) {
      int off = r * cols;
      float max = Softmax.rowMax(x, off, cols);
      float inv = (float) (1.0 / Softmax.expSum(x, off, cols, max));
      int label = (int) y[r];
      for (int j = 0; j < cols; j++) {
        float p = (float) Math.exp(x[off + j] - max) * inv;
        dx[off + j] += scale * (j == label ? p - 1f : p);
      }
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int rows = k.inShape(0).dim(0), cols = k.inShape(0).dim(1);
    k.launchGroup(FORWARD, rows, cols, k.in(0), k.in(1), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    if (k.dIn(0) == null) return;
    int rows = k.inShape(0).dim(0), cols = k.inShape(0).dim(1);
    k.launch(BACKWARD, over(rows), rows, cols, k.in(0), k.in(1),
        k.dOut(), k.dIn(0), k.accumulate(0));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return in[0].size(0);
  }
}
