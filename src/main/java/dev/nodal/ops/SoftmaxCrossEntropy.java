package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.tensor.ThreadBuffers;
import java.util.List;

/**
 * Softmax followed by cross-entropy against integer class labels, fused:
 * {@code L = (1/R) Σ_r [logsumexp(x_r) − x_r[y_r]]}, computed through log-sum-exp so that large
 * scores do not overflow. Inputs: logits {@code [N, ..., C]} and labels {@code [N, ...]} (a labels
 * input holding class indices), each label naming the class of one row of C scores; R is the
 * number of rows (N for logits {@code [N, C]}, N·T for a sequence model's {@code [N, T, V]}).
 * Output: a scalar, as PyTorch's {@code cross_entropy(x.reshape(-1, C), y.reshape(-1))}.
 * Backward: {@code dx_r += dL · (softmax(x_r) − onehot(y_r)) / R}, where dL is the incoming
 * gradient, so the loss also works inside a larger expression. Labels get no gradient.
 */
public final class SoftmaxCrossEntropy implements Op {
  /** Each row's loss in forward, on the calling thread. */
  private static final ThreadBuffers.Key LOSSES = new ThreadBuffers.Key("softmax cross-entropy row losses", 1);
  /** Rows per task of backward, which fetches its scratch row once. */
  private static final int ROWS_PER_TASK = 64;
  /** A row's exponentials in backward, per thread. */
  private static final ThreadBuffers.Key EXPS = new ThreadBuffers.Key("softmax cross-entropy exponentials", 1);

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
   * The shape rule of a loss over score rows and their class labels (also {@link Nll}'s): input 0
   * is {@code [N, ..., C]}, input 1 a labels input {@code [N, ...]} of indices below C, one per
   * row; a scalar.
   */
  static Shape scoresAndLabels(ShapeContext c) {
    if (c.in(0).rank() < 2) {
      throw c.error("scores '%s' %s must be rows of class scores [N, ..., C], of rank 2 or more", c.name(0), c.in(0));
    }
    if (!c.isLabels(1)) {
      throw c.error("labels '%s' must be a labels input (GraphBuilder.labels), not a %s",
          c.name(1), c.node(1).kind());
    }
    int[] scores = c.in(0).dims();
    if (!Shape.of(java.util.Arrays.copyOf(scores, scores.length - 1)).equals(c.in(1))) {
      throw c.error("scores '%s' %s need labels of shape %s, one per row of scores, but labels '%s' are %s",
          c.name(0), c.in(0), Shape.of(java.util.Arrays.copyOf(scores, scores.length - 1)), c.name(1), c.in(1));
    }
    int classes = c.in(0).dim(-1);
    int labelClasses = ((dev.nodal.graph.Input) c.node(1)).classes();
    if (labelClasses != classes) {
      throw c.error("logits '%s' have %d classes, labels '%s' declare %d", c.name(0), classes, c.name(1), labelClasses);
    }
    return Shape.scalar();
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int cols = in[0].dim(-1), rows = in[0].size() / cols;
    float[] x = in[0].data, y = in[1].data, losses = pass.cpu().buffers(LOSSES).get(0, rows);
    Rows.range(rows, (long) rows * cols).forEach(r -> { // rows are independent
      int off = r * cols;
      float max = Softmax.rowMax(x, off, cols);
      losses[r] = (float) (max + Math.log(Softmax.expSum(x, off, cols, max)) - x[off + (int) y[r]]);
    });
    double total = 0;
    for (int r = 0; r < rows; r++) total += losses[r]; // in row order, whatever the threads
    out.data[0] = (float) (total / rows);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    if (dIn[0] == null) return;
    int cols = in[0].dim(-1), rows = in[0].size() / cols;
    float[] x = in[0].data, y = in[1].data, dx = dIn[0].data;
    float scale = dOut.data[0] / rows;
    int tasks = (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK;
    Rows.range(tasks, (long) rows * cols).forEach(t -> { // rows are independent
      float[] e = pass.cpu().buffers(EXPS).get(0, cols); // this thread's, once per task
      for (int r = t * ROWS_PER_TASK; r < Math.min(rows, (t + 1) * ROWS_PER_TASK); r++) {
        int off = r * cols;
        float max = Softmax.rowMax(x, off, cols);
        double sum = 0;
        for (int j = 0; j < cols; j++) { // the sum of the exact exponentials, as forward's
          double ex = Math.exp(x[off + j] - max);
          e[j] = (float) ex;
          sum += ex;
        }
        float inv = (float) (1.0 / sum);
        int label = (int) y[r];
        for (int j = 0; j < cols; j++) {
          float p = e[j] * inv;
          dx[off + j] += scale * (j == label ? p - 1f : p);
        }
      }
    });
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
    k.launch(BACKWARD, over(rows), rows, cols, k.in(0), k.in(1),
        k.dOut(), k.dIn(0), k.accumulate(0));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return in[0].size(0);
  }
}
