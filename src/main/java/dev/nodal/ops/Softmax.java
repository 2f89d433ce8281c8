package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Softmax along the last dimension, as PyTorch's {@code softmax(x, dim=-1)}: every leading
 * dimension counts as rows ({@code [N, C]} scores, or attention scores {@code [N, H, Tq, Tk]}).
 * Subtracts the row maximum before exponentiating. Backward: {@code dx += z ⊙ (dz − Σ_j dz_j·z_j)}
 * per row. For training on class scores, {@link SoftmaxCrossEntropy} is the fused, stable loss.
 *
 * <p>{@link #Softmax(boolean) Causal}, over the last two dimensions {@code [.., Tq, Tk]}: position j
 * of query row i is masked when {@code j > i + (Tk − Tq)}, its weight exactly 0 and its gradient 0,
 * as PyTorch's {@code x.masked_fill(~torch.ones(Tq, Tk).tril(Tk - Tq).bool(), -inf).softmax(-1)}.
 * It needs those two dimensions fixed (not the batch) and {@code Tq ≤ Tk}, so that no row is masked
 * whole.
 */
public final class Softmax implements Op {
  private static final Kernel FORWARD = Kernel.of("softmax", "softmax_forward").ints("rows", "cols", "tq")
      .buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("softmax", "softmax_backward").ints("rows", "cols", "tq")
      .buffers("z", "dz", "dx").ints("acc");

  private final boolean causal;

  /** Softmax along the last dimension, unmasked. */
  public Softmax() {
    this(false);
  }

  /** Softmax along the last dimension; with {@code causal}, masked as the class comment says. */
  public Softmax(boolean causal) {
    this.causal = causal;
  }

  /** The graph file's attributes of a softmax: {@code causal}, false when absent. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.bool("causal", false));

  static Softmax fromAttributes(AttributeSchema.Values a) {
    return new Softmax(a.bool("causal"));
  }

  @Override
  public String kind() {
    return "softmax";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  /** {@code causal: true} for a causal softmax; none otherwise, as graph files before the mask wrote. */
  @Override
  public Map<String, Object> attributes() {
    return causal ? Map.of("causal", true) : Map.of();
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape x = requireRows(c);
    if (causal) {
      if (x.rank() < 2 || x.rank() == 2 && x.hasBatch()) {
        throw c.error("input '%s' %s: a causal mask needs the last two dimensions [.., Tq, Tk], neither the batch",
            c.name(0), x);
      }
      if (x.dim(-2) > x.dim(-1)) {
        throw c.error("input '%s' %s: a causal mask needs Tq <= Tk, or its first %d rows would be masked whole",
            c.name(0), x, x.dim(-2) - x.dim(-1));
      }
    }
    return x;
  }

  /** Input 0, checked to have a last dimension other than the batch: the rows of a softmax. */
  static Shape requireRows(ShapeContext c) {
    Shape x = c.in(0);
    if (x.rank() < 1) throw c.error("input '%s' is a scalar: there is no last dimension to normalise", c.name(0));
    if (x.rank() == 1 && x.hasBatch()) {
      throw c.error("input '%s' %s: its only dimension is the batch, across which rows are not normalised", c.name(0), x);
    }
    return x;
  }

  /** The rows of the mask: Tq when causal, else 0 (no mask), for the kernels' {@code tq}. */
  private int maskRows(Shape s) {
    return causal ? s.dim(-2) : 0;
  }

  /** How many leading positions of row {@code r} are unmasked, of {@code cols}, with {@code tq} as {@link #maskRows}. */
  private static int unmasked(int r, int cols, int tq) {
    return tq == 0 ? cols : causalVisible(r % tq, tq, cols);
  }

  /**
   * How many leading keys of {@code tk} query row {@code i} of {@code tq} sees under a causal mask:
   * key j is seen when {@code j ≤ i + tk − tq} (the mask aligned at the last query).
   */
  static int causalVisible(int i, int tq, int tk) {
    return i + tk - tq + 1;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int cols = out.shape.dim(-1), rows = out.size() / cols, tq = maskRows(out.shape);
    for (int r = 0; r < rows; r++) {
      int off = r * cols, len = unmasked(r, cols, tq);
      softmaxRow(in[0].data, out.data, off, len);
      Arrays.fill(out.data, off + len, off + cols, 0f);
    }
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

  /** Masked positions get no gradient: their weight is the constant 0. */
  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int cols = out.shape.dim(-1), rows = out.size() / cols, tq = maskRows(out.shape);
    float[] z = out.data, dz = dOut.data, dx = dIn[0].data;
    for (int r = 0; r < rows; r++) {
      int off = r * cols, len = unmasked(r, cols, tq);
      double dot = 0;
      for (int j = 0; j < len; j++) dot += dz[off + j] * z[off + j];
      for (int j = 0; j < len; j++) dx[off + j] += z[off + j] * (dz[off + j] - (float) dot);
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int cols = k.outShape().dim(-1), rows = k.outShape().size(0) / cols;
    k.launch(FORWARD, over(rows), rows, cols, maskRows(k.outShape()), k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int cols = k.outShape().dim(-1), rows = k.outShape().size(0) / cols;
    k.launch(BACKWARD, over(rows), rows, cols, maskRows(k.outShape()), k.out(), k.dOut(), k.dIn(0), k.accumulate(0));
  }

  /** Each output sums the exponentials of its row. */
  @Override
  public int reductionLength(Shape[] in) {
    return in[0].dim(-1);
  }
}
