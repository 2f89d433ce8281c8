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
 * Row-wise softmax of an N×C matrix, for inference ({@link SoftmaxCrossEntropy} is the fused,
 * stable training loss). Subtracts the row maximum before exponentiating. Backward:
 * {@code dx += z ⊙ (dz − Σ_j dz_j·z_j)} per row.
 */
public final class Softmax implements Op {
  private static final Kernel FORWARD = Kernel.of("softmax", "softmax_forward").ints("rows", "cols").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("softmax", "softmax_backward").ints("rows", "cols")
      .buffers("z", "dz", "dx").ints("acc");

  @Override
  public String kind() {
    return "softmax";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 2, "a batch of score rows");
    return c.in(0);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int rows = in[0].dim(0), cols = in[0].dim(1);
    for (int r = 0; r < rows; r++) softmaxRow(in[0].data, out.data, r * cols, cols);
  }

  /** Writes softmax of {@code x[off .. off+cols)} into {@code z} at the same offset. */
  static void softmaxRow(float[] x, float[] z, int off, int cols) {
    float max = rowMax(x, off, cols);
    float inv = (float) (1.0 / expSum(x, off, cols, max));
    for (int j = 0; j < cols; j++) z[off + j] = (float) Math.exp(x[off + j] - max) * inv;
  }

  /** The largest of {@code x[off .. off+cols)}: subtracted before exponentiating, for stability. */
  static float rowMax(float[] x, int off, int cols) {
    float max = Float.NEGATIVE_INFINITY;
    for (int j = 0; j < cols; j++) max = Math.max(max, x[off + j]);
    return max;
  }

  /** {@code Σ_j exp(x[off + j] − max)}, in double. */
  static double expSum(float[] x, int off, int cols, float max) {
    double sum = 0;
    for (int j = 0; j < cols; j++) sum += Math.exp(x[off + j] - max);
    return sum;
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int rows = out.dim(0), cols = out.dim(1);
    float[] z = out.data, dz = dOut.data, dx = dIn[0].data;
    for (int r = 0; r < rows; r++) {
      int off = r * cols;
      double dot = 0;
      for (int j = 0; j < cols; j++) dot += dz[off + j] * z[off + j];
      for (int j = 0; j < cols; j++) dx[off + j] += z[off + j] * (dz[off + j] - (float) dot);
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int rows = k.outShape().dim(0), cols = k.outShape().dim(1);
    k.launch(FORWARD, over(rows), rows, cols, k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int rows = k.outShape().dim(0), cols = k.outShape().dim(1);
    k.launch(BACKWARD, over(rows), rows, cols, k.out(), k.dOut(), k.dIn(0), k.accumulate(0));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return in[0].dim(1);
  }
}
