package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Normalisation of each row of the last axis of x (every leading dimension counts rows), shared
 * by {@link LayerNorm} ({@code centred}: {@code xhat = (x − mean)·rstd}) and {@link RMSNorm}
 * ({@code xhat = x·rstd}), where {@code rstd = 1/sqrt(mean((x − mean)²) + eps)} with the mean
 * taken as 0 when not centred. With {@code affine} the output is {@code xhat·gamma (+ beta)},
 * else {@code xhat}.
 *
 * <p>Forward saves each row's mean (0 when not centred) and rstd in its workspace. Backward, with
 * {@code g = dz·gamma} (or {@code dz}) and means over the row's values:
 * {@code dx = rstd·(g − mean(g) − xhat·mean(g·xhat))}, without the {@code mean(g)} term when not
 * centred; {@code dgamma = Σ_rows dz·xhat} and {@code dbeta = Σ_rows dz}.
 */
abstract class RowNorm implements Op {
  private static final Kernel FORWARD = rowKernel("layer_norm_forward").buffers("x", "w", "z").groupScratch("scratch");
  private static final Kernel FORWARD_SCALED = rowKernel("layer_norm_forward_scaled")
      .buffers("x", "gamma", "w", "z").groupScratch("scratch");
  private static final Kernel FORWARD_AFFINE = rowKernel("layer_norm_forward_affine")
      .buffers("x", "gamma", "beta", "w", "z").groupScratch("scratch");
  private static final Kernel BACKWARD_INPUT = Kernel.of("layer_norm", "layer_norm_backward_input")
      .ints("cols", "centred").buffers("x", "dz", "w", "dx").ints("acc").groupScratch("scratch");
  private static final Kernel BACKWARD_INPUT_SCALED = Kernel.of("layer_norm", "layer_norm_backward_input_scaled")
      .ints("cols", "centred").buffers("x", "dz", "gamma", "w", "dx").ints("acc").groupScratch("scratch");
  private static final Kernel GAMMA_GRAD = Kernel.of("layer_norm", "layer_norm_gamma_grad").ints("rows", "cols")
      .buffers("x", "dz", "w", "dgamma").ints("acc");
  private static final Kernel BETA_GRAD = Kernel.of("layer_norm", "layer_norm_beta_grad").ints("rows", "cols")
      .buffers("dz", "dbeta").ints("acc");

  private static Kernel rowKernel(String function) {
    return Kernel.of("layer_norm", function).ints("cols", "centred").floats("eps");
  }

  private final boolean centred;
  private final float eps;
  private final boolean affine;

  RowNorm(boolean centred, float eps, boolean affine) {
    if (!(eps > 0 && eps < Float.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException((centred ? "layer_norm" : "rms_norm") + ": eps must be positive and finite, got "
          + eps);
    }
    this.centred = centred;
    this.eps = eps;
    this.affine = affine;
  }

  @Override
  public final String kind() {
    return centred ? "layer_norm" : "rms_norm";
  }

  /** {@code x}, then with {@code affine} {@code gamma} and (layer norm only) {@code beta}. */
  @Override
  public final List<String> inputRoles() {
    if (!affine) return List.of("x");
    return centred ? List.of("x", "gamma", "beta") : List.of("x", "gamma");
  }

  @Override
  public final Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("eps", eps);
    a.put("affine", affine);
    return a;
  }

  @Override
  public final Shape inferShape(ShapeContext c) {
    Shape x = c.in(0);
    if (x.rank() < 1) throw c.error("input '%s' is a scalar; it needs a last axis to normalise", c.name(0));
    int d = x.dim(x.rank() - 1);
    if (d == Shape.BATCH) {
      throw c.error("input '%s' %s has only its batch dimension, which %s would normalise across examples; "
          + "give it a feature axis", c.name(0), x, kind());
    }
    for (int i = 1; i < c.inputCount(); i++) {
      c.requireRank(i, 1, "a vector of one value per column of the last axis");
      if (c.in(i).dim(0) != d) {
        throw c.error("'%s' %s must have %d elements, one per column of the last axis of input '%s' %s", c.name(i),
            c.in(i), d, c.name(0), x);
      }
    }
    return x;
  }

  /** Mean and rstd of each row: x's shape with the last axis 2. */
  @Override
  public final List<Shape> workspace(Shape[] in) {
    int[] dims = in[0].dims();
    dims[dims.length - 1] = 2;
    return List.of(Shape.of(dims));
  }

  @Override
  public final void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int cols = cols(in[0].shape), rows = in[0].size() / cols;
    float[] x = in[0].data, z = out.data, w = pass.work(0).data;
    float[] gamma = affine ? in[1].data : null, beta = affine && centred ? in[2].data : null;
    Rows.range(rows, (long) rows * cols).forEach(r -> { // rows are independent
      int off = r * cols;
      double mean = 0;
      if (centred) {
        for (int j = 0; j < cols; j++) mean += x[off + j];
        mean /= cols;
      }
      double sq = 0;
      for (int j = 0; j < cols; j++) {
        double v = x[off + j] - mean;
        sq += v * v;
      }
      float m = (float) mean, rstd = (float) (1.0 / Math.sqrt(sq / cols + eps));
      w[2 * r] = m;
      w[2 * r + 1] = rstd;
      for (int j = 0; j < cols; j++) {
        float v = (x[off + j] - m) * rstd;
        if (gamma != null) v *= gamma[j];
        if (beta != null) v += beta[j];
        z[off + j] = v;
      }
    });
  }

  @Override
  public final void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int cols = cols(in[0].shape), rows = in[0].size() / cols;
    float[] x = in[0].data, dz = dOut.data, w = pass.work(0).data, gamma = affine ? in[1].data : null;
    if (dIn[0] != null) {
      float[] dx = dIn[0].data;
      boolean add = !pass.overwrites(0);
      Rows.range(rows, (long) rows * cols).forEach(r -> {
        int off = r * cols;
        float mean = w[2 * r], rstd = w[2 * r + 1];
        double sg = 0, sgx = 0;
        for (int j = 0; j < cols; j++) {
          float g = gamma != null ? dz[off + j] * gamma[j] : dz[off + j];
          sg += g;
          sgx += g * ((x[off + j] - mean) * rstd);
        }
        float mg = centred ? (float) (sg / cols) : 0f, mgx = (float) (sgx / cols);
        for (int j = 0; j < cols; j++) {
          float g = gamma != null ? dz[off + j] * gamma[j] : dz[off + j];
          float v = rstd * (g - mg - (x[off + j] - mean) * rstd * mgx);
          dx[off + j] = add ? dx[off + j] + v : v;
        }
      });
    }
    float[] dGamma = dIn.length > 1 && dIn[1] != null ? dIn[1].data : null;
    float[] dBeta = dIn.length > 2 && dIn[2] != null ? dIn[2].data : null;
    if (dGamma == null && dBeta == null) return;
    boolean addGamma = dGamma == null || !pass.overwrites(1), addBeta = dBeta == null || !pass.overwrites(2);
    // Column sums over the rows, each in double and in row order; tasks own slices of the columns
    // and walk the rows in memory order.
    int slices = Math.max(1, Math.min(cols / 16, 4 * Runtime.getRuntime().availableProcessors()));
    Rows.range(slices, (long) rows * cols).forEach(slice -> {
      int j0 = cols * slice / slices, j1 = cols * (slice + 1) / slices;
      double[] sums = new double[2 * (j1 - j0)]; // dγ, then dβ, of the slice's columns
      for (int r = 0; r < rows; r++) {
        int off = r * cols;
        float mean = w[2 * r], rstd = w[2 * r + 1];
        for (int j = j0, k = 0; j < j1; j++, k++) {
          sums[k] += dz[off + j] * ((x[off + j] - mean) * rstd);
          sums[k + j1 - j0] += dz[off + j];
        }
      }
      for (int j = j0, k = 0; j < j1; j++, k++) {
        if (dGamma != null) dGamma[j] = (addGamma ? dGamma[j] : 0f) + (float) sums[k];
        if (dBeta != null) dBeta[j] = (addBeta ? dBeta[j] : 0f) + (float) sums[k + j1 - j0];
      }
    });
  }

  /** Each row's gradient and each column sum of γ and β is one value: backward sets them whole. */
  @Override
  public final boolean overwritesGradients() {
    return true;
  }

  @Override
  public final void forwardKernels(Launcher l) {
    Shape x = l.inShape(0);
    int cols = cols(x), rows = rows(x);
    List<Object> args = new ArrayList<>(List.of(cols, centred ? 1 : 0, eps, l.in(0)));
    for (int i = 1; i < l.inputCount(); i++) args.add(l.in(i));
    args.addAll(List.of(l.work(0), l.out()));
    Kernel k = l.inputCount() == 1 ? FORWARD : l.inputCount() == 2 ? FORWARD_SCALED : FORWARD_AFFINE;
    l.launchGroups(k, rows, args.toArray());
  }

  @Override
  public final void backwardKernels(Launcher l) {
    Shape x = l.inShape(0);
    int cols = cols(x), rows = rows(x), c = centred ? 1 : 0;
    if (l.dIn(0) != null) {
      if (affine) {
        l.launchGroups(BACKWARD_INPUT_SCALED, rows, cols, c, l.in(0), l.dOut(), l.in(1), l.work(0), l.dIn(0),
            l.accumulate(0));
      } else {
        l.launchGroups(BACKWARD_INPUT, rows, cols, c, l.in(0), l.dOut(), l.work(0), l.dIn(0), l.accumulate(0));
      }
    }
    if (affine && l.dIn(1) != null) {
      l.launch(GAMMA_GRAD, over(cols), rows, cols, l.in(0), l.dOut(), l.work(0), l.dIn(1), l.accumulate(1));
    }
    if (affine && centred && l.dIn(2) != null) {
      l.launch(BETA_GRAD, over(cols), rows, cols, l.dOut(), l.dIn(2), l.accumulate(2));
    }
  }

  /** The longest sum: a row's D values, or the rows of a column for the gamma and beta gradients. */
  @Override
  public final int reductionLength(Shape[] in) {
    return Math.max(cols(in[0]), rows(in[0]));
  }

  private static int cols(Shape x) {
    return x.dim(x.rank() - 1);
  }

  /** The product of the leading dimensions of {@code x}, whose batch is resolved. */
  private static int rows(Shape x) {
    return x.exampleSize() / cols(x);
  }
}
