package dev.nodal.optim;

import dev.nodal.graph.Kernel;

/**
 * Stochastic gradient descent as PyTorch's {@code SGD} (no dampening): {@code d = g + wd·p}; with
 * momentum μ > 0, {@code v = μ·v + d} and {@code d = v}, or with Nesterov {@code d = d + μ·v};
 * then {@code p −= lr·d}. Its settings are an {@link SgdSpec}, named with {@link #builder()}:
 * learning rate 0.01, no momentum, no weight decay, no clipping by default.
 */
public final class Sgd extends AbstractOptimizer {
  private final float momentum, weightDecay;
  private final boolean nesterov;

  /** A fresh optimizer of {@code spec} (as {@link SgdSpec#make()}). */
  public Sgd(SgdSpec spec) {
    super(spec);
    this.momentum = spec.momentum();
    this.weightDecay = spec.weightDecay();
    this.nesterov = spec.nesterov();
  }

  /** Plain SGD at a learning rate. */
  public Sgd(float learningRate) {
    this(builder().learningRate(learningRate).spec());
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Named settings with the defaults of {@link SgdSpec#KEYS}; {@link #spec()} checks them. */
  public static final class Builder extends AbstractOptimizer.Builder<Builder> {
    private float momentum = SgdSpec.MOMENTUM.defaultNumber();
    private boolean nesterov = SgdSpec.NESTEROV.defaultFlag();

    private Builder() {
      super(SgdSpec.LR, SgdSpec.WEIGHT_DECAY);
    }

    public Builder momentum(float v) {
      momentum = v;
      return this;
    }

    public Builder nesterov(boolean v) {
      nesterov = v;
      return this;
    }

    /** The settings, checked. */
    public SgdSpec spec() {
      return new SgdSpec(learningRate, momentum, nesterov, weightDecay, clipNorm);
    }

    /** A fresh optimizer of {@link #spec()}. */
    public Sgd build() {
      return spec().make();
    }
  }

  @Override
  public SgdSpec spec() {
    return (SgdSpec) super.spec();
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
