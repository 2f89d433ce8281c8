package dev.nodal.optim;

import dev.nodal.graph.Kernel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent as PyTorch's {@code SGD} (no dampening): {@code d = g + wd·p}; with
 * momentum μ > 0, {@code v = μ·v + d} and {@code d = v}, or with Nesterov {@code d = d + μ·v};
 * then {@code p −= lr·d}. Built with {@link #builder()}: learning rate 0.01, no momentum, no
 * weight decay, no clipping by default.
 */
public final class Sgd extends AbstractOptimizer {
  private final float momentum;
  private final boolean nesterov;

  private Sgd(Builder b) {
    super("sgd", b);
    check("sgd", "momentum", b.momentum, b.momentum >= 0 && b.momentum < 1);
    if (b.nesterov && b.momentum == 0) throw new IllegalArgumentException("sgd: nesterov needs momentum > 0");
    this.momentum = b.momentum;
    this.nesterov = b.nesterov;
  }

  /** Plain SGD at a learning rate. */
  public Sgd(float learningRate) {
    this(builder().learningRate(learningRate));
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Named settings with defaults; {@link #build()} checks them. */
  public static final class Builder extends AbstractOptimizer.Builder<Builder> {
    private float momentum;
    private boolean nesterov;

    private Builder() {
      super(0.01f, 0f);
    }

    public Builder momentum(float v) {
      momentum = v;
      return this;
    }

    public Builder nesterov(boolean v) {
      nesterov = v;
      return this;
    }

    public Sgd build() {
      return new Sgd(this);
    }
  }

  public float momentum() {
    return momentum;
  }

  @Override
  public String name() {
    return "sgd";
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("lr", learningRate());
    a.put("momentum", momentum);
    a.put("nesterov", nesterov);
    a.put("weight_decay", weightDecay);
    a.put("clip_norm", clipNorm());
    return a;
  }

  @Override
  public List<String> slots() {
    return momentum > 0 ? List.of("momentum") : List.of();
  }

  @Override
  public void update(float[] p, float[] g, float scale, float[][] state, int n) {
    float lr = learningRate(), wd = weightDecay, mu = momentum;
    if (mu > 0) {
      float[] v = state[0];
      for (int i = 0; i < n; i++) {
        float d = g[i] * scale + wd * p[i];
        float vi = mu * v[i] + d;
        v[i] = vi;
        p[i] -= lr * (nesterov ? d + mu * vi : vi);
      }
    } else {
      for (int i = 0; i < n; i++) p[i] -= lr * (g[i] * scale + wd * p[i]);
    }
  }

  private static final Kernel PLAIN = Kernel.of(PROGRAM, "sgd_update").buffers("p", "g", "norm_sq").ints("n")
      .floats("lr", "wd", "max_norm");
  private static final Kernel MOMENTUM = Kernel.of(PROGRAM, "sgd_momentum_update").buffers("p", "g", "v", "norm_sq")
      .ints("n").floats("lr", "wd", "max_norm", "mu", "nesterov");

  @Override
  public Kernel kernel() {
    return momentum > 0 ? MOMENTUM : PLAIN;
  }

  @Override
  public float[] hyperParameters() {
    return momentum > 0 ? new float[] {learningRate(), weightDecay, clipNorm(), momentum, nesterov ? 1f : 0f}
        : new float[] {learningRate(), weightDecay, clipNorm()};
  }
}
