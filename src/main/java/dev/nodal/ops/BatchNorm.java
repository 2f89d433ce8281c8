package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.graph.State;
import dev.nodal.tensor.CpuMath;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.Shape;
import dev.nodal.tensor.ThreadBuffers;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Batch normalisation per channel, as PyTorch's {@code BatchNorm1d} and {@code BatchNorm2d}: input
 * {@code x [N, C, S...]} (rank 2 for 1-d, rank 4 for NCHW images), scale {@code gamma [C]}, shift
 * {@code beta [C]}, and the running statistics {@code running_mean [C]} and {@code running_var [C]},
 * which are {@link dev.nodal.graph.State} nodes. With M = N·S values per channel:
 *
 * <ul>
 *   <li>training: {@code mean} and the biased {@code var} of the batch give
 *       {@code xhat = (x − mean)/sqrt(var + eps)} and {@code z = gamma·xhat + beta}; the running
 *       statistics move by {@code r = (1 − momentum)·r + momentum·stat}, with the unbiased
 *       variance {@code var·M/(M − 1)} (the biased one when M = 1);
 *   <li>evaluation: {@code z = gamma·(x − running_mean)/sqrt(running_var + eps) + beta}, nothing
 *       updated.
 * </ul>
 *
 * Backward (training): {@code dgamma = Σ dz·xhat}, {@code dbeta = Σ dz} and
 * {@code dx = gamma/(M·sqrt(var + eps))·(M·dz − Σ dz − xhat·Σ dz·xhat)}. Forward saves the mean and
 * the inverse standard deviation in its workspace, which backward reads; the running statistics
 * get no gradient.
 *
 * <p>An {@link FusedActivation activation} (default none) is applied to z as it is written, as a
 * batch norm followed by a ReLU, sigmoid or tanh node would, without the activation's pass over
 * memory; backward then takes {@code dz·f'} from the output in place of dz.
 */
public final class BatchNorm implements Op {
  private static final Kernel STATS = Kernel.of("batch_norm", "batch_norm_stats").ints("N", "C", "S")
      .floats("eps", "momentum").buffers("x", "w", "rmean", "rvar").groupScratch("scratch");
  private static final Kernel FORWARD = Kernel.of("batch_norm", "batch_norm_forward").ints("N", "C", "S", "act")
      .buffers("x", "w", "gamma", "beta", "z");
  private static final Kernel FORWARD_EVAL = Kernel.of("batch_norm", "batch_norm_forward_eval")
      .ints("N", "C", "S", "act").floats("eps").buffers("x", "rmean", "rvar", "gamma", "beta", "z");
  private static final Kernel BACKWARD_SUMS = Kernel.of("batch_norm", "batch_norm_backward_sums")
      .ints("N", "C", "S", "act").buffers("x", "z", "dz", "w").groupScratch("scratch");
  private static final Kernel BACKWARD_PARAM = Kernel.of("batch_norm", "batch_norm_backward_param").ints("C", "row")
      .buffers("w", "dparam").ints("acc");
  private static final Kernel BACKWARD_INPUT = Kernel.of("batch_norm", "batch_norm_backward_input")
      .ints("N", "C", "S", "act").buffers("x", "z", "dz", "w", "gamma", "dx").ints("acc");
  /** One channel's dz·f', per thread, when there is an activation. */
  private static final ThreadBuffers.Key DZF = new ThreadBuffers.Key("batch_norm dz·f'", 1);

  private final float momentum, eps;
  private final FusedActivation activation;

  private BatchNorm(float momentum, float eps, FusedActivation activation) {
    this.momentum = checkMomentum(momentum);
    this.eps = checkEps(eps);
    this.activation = java.util.Objects.requireNonNull(activation, "activation");
  }

  private static float checkMomentum(float m) {
    if (!(m >= 0 && m <= 1)) throw new IllegalArgumentException("batch_norm: momentum must be in [0, 1], got " + m);
    return m;
  }

  private static float checkEps(float e) {
    if (!(e > 0 && e < Float.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("batch_norm: eps must be positive and finite, got " + e);
    }
    return e;
  }

  /** PyTorch's defaults: momentum 0.1, eps 1e-5. */
  public static Builder builder() {
    return new Builder();
  }

  /** Named settings, each checked as it is set. */
  public static final class Builder {
    private float momentum = 0.1f, eps = 1e-5f;
    private FusedActivation activation = FusedActivation.NONE;

    /**
     * How far each training step moves the running statistics towards the batch's, in [0, 1]
     * (PyTorch's {@code momentum}; default 0.1): {@code r = (1 − momentum)·r + momentum·stat}.
     */
    public Builder momentum(float m) {
      momentum = checkMomentum(m);
      return this;
    }

    /** Added to the variance before its square root, positive (PyTorch's {@code eps}; default 1e-5). */
    public Builder eps(float e) {
      eps = checkEps(e);
      return this;
    }

    /**
     * An activation applied as each output is written (default none): the batch norm and a ReLU,
     * sigmoid or tanh node in one, without the activation's pass over memory.
     */
    public Builder activation(FusedActivation a) {
      activation = java.util.Objects.requireNonNull(a, "activation");
      return this;
    }

    public BatchNorm build() {
      return new BatchNorm(momentum, eps, activation);
    }
  }

  /** The graph file's attributes of a batch norm. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.number("momentum", 0.1, 0, true, 1, true),
      AttributeSchema.number("eps", 1e-5, 0, false, Double.MAX_VALUE, true),
      AttributeSchema.choice("activation", "none", FusedActivation.names()));

  static BatchNorm fromAttributes(AttributeSchema.Values a) {
    return new BatchNorm((float) a.number("momentum"), (float) a.number("eps"),
        FusedActivation.parse("batch_norm", a.text("activation")));
  }

  @Override
  public String kind() {
    return "batch_norm";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x", "gamma", "beta", "running_mean", "running_var");
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("momentum", momentum);
    a.put("eps", eps);
    if (activation != FusedActivation.NONE) a.put("activation", activation.attribute());
    return a;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape x = c.in(0);
    if (x.rank() < 2) throw c.error("input '%s' %s must be [N, C] or [N, C, H, W]", c.name(0), x);
    for (int i = 3; i < 5; i++) {
      if (!(c.node(i) instanceof State)) {
        throw c.error("'%s' must be a state node (GraphBuilder.state): batch norm updates its running statistics in "
            + "place, and '%s' is a %s", c.name(i), c.name(i), c.node(i).kind());
      }
    }
    for (int i = 1; i < 5; i++) {
      c.requireRank(i, 1, "a vector of one value per channel");
      if (c.in(i).dim(0) != x.dim(1)) {
        throw c.error("'%s' %s must have %d elements, one per channel of input '%s' %s", c.name(i), c.in(i), x.dim(1),
            c.name(0), x);
      }
    }
    return x;
  }

  @Override
  public boolean dependsOnMode() {
    return true;
  }

  /** Mean, inverse standard deviation, Σ dz and Σ dz·xhat: four rows of C. */
  @Override
  public List<Shape> workspace(Shape[] in) {
    return List.of(Shape.of(4, in[0].dim(1)));
  }

  /** Channels, trailing size S and examples of x. */
  private record Dims(int n, int c, int s) {
    static Dims of(Shape x) {
      return new Dims(x.dim(0), x.dim(1), x.size(0) / (x.dim(0) * x.dim(1)));
    }
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Dims d = Dims.of(in[0].shape);
    float[] x = in[0].data, gamma = in[1].data, beta = in[2].data, rm = in[3].data, rv = in[4].data, z = out.data;
    float[] w = pass.work(0).data;
    int m = d.n * d.s;
    boolean training = pass.training();
    IntStream.range(0, d.c).parallel().forEach(c -> { // channels are independent
      float mean, invstd;
      if (training) {
        mean = (float) (channelSum(x, d, c) / m);
        float var = (float) (channelSquares(x, d, c, mean) / m);
        invstd = (float) (1.0 / Math.sqrt(var + eps));
        w[c] = mean;
        w[d.c + c] = invstd;
        rm[c] = (1 - momentum) * rm[c] + momentum * mean;
        rv[c] = (1 - momentum) * rv[c] + momentum * (m > 1 ? var * m / (m - 1) : var);
      } else {
        mean = rm[c];
        invstd = (float) (1.0 / Math.sqrt(rv[c] + eps));
      }
      for (int n = 0; n < d.n; n++) {
        int from = (n * d.c + c) * d.s;
        for (int i = 0, at = from; i < d.s; i++, at++) z[at] = (x[at] - mean) * invstd * gamma[c] + beta[c];
        if (activation != FusedActivation.NONE) CpuMath.activate(pass.cpu(), activation, z, z, from, from + d.s);
      }
    });
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Dims d = Dims.of(in[0].shape);
    float[] x = in[0].data, gamma = in[1].data, w = pass.work(0).data;
    int m = d.n * d.s;
    boolean fused = activation != FusedActivation.NONE;
    IntStream.range(0, d.c).parallel().forEach(c -> {
      float mean = w[c], invstd = w[d.c + c];
      // g: dOut itself, or with an activation this channel's dz·f', made once into this thread's
      // scratch (row n at n·S, where dOut's row is at (n·C + c)·S)
      float[] g = fused ? channelGradient(pass, out.data, dOut.data, d, c) : dOut.data;
      // Σ g and Σ g·xhat in double, four partial sums of each (i ≡ j mod 4 within a row, a row's
      // tail into the first): one chain of dependent adds over N·S values was most of this op's time
      double a0 = 0, a1 = 0, a2 = 0, a3 = 0, b0 = 0, b1 = 0, b2 = 0, b3 = 0;
      for (int n = 0; n < d.n; n++) {
        int at = (n * d.c + c) * d.s, gd = (fused ? n * d.s : at) - at, i = at, end = at + d.s;
        for (; i + 4 <= end; i += 4) {
          a0 += g[i + gd];
          a1 += g[i + gd + 1];
          a2 += g[i + gd + 2];
          a3 += g[i + gd + 3];
          b0 += g[i + gd] * ((x[i] - mean) * invstd);
          b1 += g[i + gd + 1] * ((x[i + 1] - mean) * invstd);
          b2 += g[i + gd + 2] * ((x[i + 2] - mean) * invstd);
          b3 += g[i + gd + 3] * ((x[i + 3] - mean) * invstd);
        }
        for (; i < end; i++) {
          a0 += g[i + gd];
          b0 += g[i + gd] * ((x[i] - mean) * invstd);
        }
      }
      double sdz = (a0 + a1) + (a2 + a3), sdzx = (b0 + b1) + (b2 + b3);
      if (dIn[1] != null) dIn[1].data[c] += (float) sdzx;
      if (dIn[2] != null) dIn[2].data[c] += (float) sdz;
      if (dIn[0] == null) return;
      float k = gamma[c] * invstd / m;
      for (int n = 0; n < d.n; n++) {
        int at = (n * d.c + c) * d.s, gd = (fused ? n * d.s : at) - at;
        for (int i = at; i < at + d.s; i++) {
          float xhat = (x[i] - mean) * invstd;
          dIn[0].data[i] += k * (float) (m * g[i + gd] - sdz - xhat * sdzx);
        }
      }
    });
  }

  /** Channel c's dz·f' from the output z, row n at {@code n·S} of this thread's scratch. */
  private float[] channelGradient(Pass pass, float[] z, float[] dz, Dims d, int c) {
    float[] g = pass.cpu().buffers(DZF).get(0, d.n * d.s);
    for (int n = 0; n < d.n; n++) {
      int at = (n * d.c + c) * d.s;
      CpuMath.activationGradient(pass.cpu(), activation, z, at, dz, at, g, n * d.s, d.s, false);
    }
    return g;
  }

  /** Σ x over channel c, in double, as four partial sums (i ≡ j mod 4 within a row, a row's tail into the first). */
  private static double channelSum(float[] x, Dims d, int c) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int n = 0; n < d.n; n++) {
      int i = (n * d.c + c) * d.s, end = i + d.s;
      for (; i + 4 <= end; i += 4) {
        s0 += x[i];
        s1 += x[i + 1];
        s2 += x[i + 2];
        s3 += x[i + 3];
      }
      for (; i < end; i++) s0 += x[i];
    }
    return (s0 + s1) + (s2 + s3);
  }

  /** Σ (x − mean)² over channel c, the difference in float and its square in double, summed as {@link #channelSum}. */
  private static double channelSquares(float[] x, Dims d, int c, float mean) {
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (int n = 0; n < d.n; n++) {
      int i = (n * d.c + c) * d.s, end = i + d.s;
      for (; i + 4 <= end; i += 4) {
        double v0 = x[i] - mean, v1 = x[i + 1] - mean, v2 = x[i + 2] - mean, v3 = x[i + 3] - mean;
        s0 += v0 * v0;
        s1 += v1 * v1;
        s2 += v2 * v2;
        s3 += v3 * v3;
      }
      for (; i < end; i++) {
        double v = x[i] - mean;
        s0 += v * v;
      }
    }
    return (s0 + s1) + (s2 + s3);
  }

  @Override
  public void forwardKernels(Launcher l) {
    Dims d = Dims.of(l.inShape(0));
    int size = l.outShape().size(0);
    if (l.training()) {
      l.launchGroups(STATS, d.c, d.n, d.c, d.s, eps, momentum, l.in(0), l.work(0), l.in(3),
          l.in(4));
      l.launch(FORWARD, over(size), d.n, d.c, d.s, activation.code(), l.in(0), l.work(0), l.in(1), l.in(2),
          l.out());
    } else {
      l.launch(FORWARD_EVAL, over(size), d.n, d.c, d.s, activation.code(), eps, l.in(0), l.in(3), l.in(4),
          l.in(1), l.in(2), l.out());
    }
  }

  @Override
  public void backwardKernels(Launcher l) {
    Dims d = Dims.of(l.inShape(0));
    l.launchGroups(BACKWARD_SUMS, d.c, d.n, d.c, d.s, activation.code(), l.in(0), l.out(), l.dOut(), l.work(0));
    if (l.dIn(1) != null) {
      l.launch(BACKWARD_PARAM, over(d.c), d.c, 3, l.work(0), l.dIn(1), l.accumulate(1));
    }
    if (l.dIn(2) != null) {
      l.launch(BACKWARD_PARAM, over(d.c), d.c, 2, l.work(0), l.dIn(2), l.accumulate(2));
    }
    if (l.dIn(0) != null) {
      l.launch(BACKWARD_INPUT, over(l.inShape(0).size(0)), d.n, d.c, d.s, activation.code(), l.in(0),
          l.out(), l.dOut(), l.work(0), l.in(1), l.dIn(0), l.accumulate(0));
    }
  }

  /** Each channel's statistics sum N·S values. */
  @Override
  public int reductionLength(Shape[] in) {
    return in[0].size(0) / in[0].dim(1);
  }
}
