package dev.nodal.optim;

import dev.nodal.graph.Kernel;

/**
 * Adam and AdamW as PyTorch defines them. For step t:
 *
 * <pre>
 * Adam:  g = g + wd·p            AdamW: p = p·(1 − lr·wd)
 * m = β1·m + (1 − β1)·g
 * v = β2·v + (1 − β2)·g²
 * p = p − lr/(1 − β1^t) · m / (√v / √(1 − β2^t) + ε)
 * </pre>
 *
 * Its settings are an {@link AdamSpec}, named with {@link #adam()} or {@link #adamW()}: learning
 * rate 0.001, β 0.9 and 0.999, ε 1e-8, weight decay 0 (Adam) or 0.01 (AdamW), no clipping by
 * default.
 */
public final class Adam extends AbstractOptimizer {
  private final float beta1, beta2, eps, weightDecay;
  private final boolean decoupled;

  /** A fresh optimizer of {@code spec} (as {@link AdamSpec#make()}). */
  public Adam(AdamSpec spec) {
    super(spec);
    this.beta1 = spec.beta1();
    this.beta2 = spec.beta2();
    this.eps = spec.eps();
    this.weightDecay = spec.weightDecay();
    this.decoupled = spec.decoupled();
  }

  /** Adam with L2 weight decay added to the gradient. */
  public static Builder adam() {
    return new Builder(false);
  }

  /** AdamW: weight decay applied to the parameters, apart from the gradient. */
  public static Builder adamW() {
    return new Builder(true);
  }

  /** Named settings with the defaults of {@link AdamSpec#ADAM_KEYS} or {@link AdamSpec#ADAMW_KEYS}; {@link #spec()} checks them. */
  public static final class Builder extends AbstractOptimizer.Builder<Builder> {
    private final boolean decoupled;
    private float beta1 = AdamSpec.BETA1.defaultNumber(), beta2 = AdamSpec.BETA2.defaultNumber(),
        eps = AdamSpec.EPS.defaultNumber();

    private Builder(boolean decoupled) {
      super(AdamSpec.LR, decoupled ? AdamSpec.ADAMW_WEIGHT_DECAY : AdamSpec.ADAM_WEIGHT_DECAY);
      this.decoupled = decoupled;
    }

    public Builder betas(float b1, float b2) {
      beta1 = b1;
      beta2 = b2;
      return this;
    }

    public Builder beta1(float v) {
      beta1 = v;
      return this;
    }

    public Builder beta2(float v) {
      beta2 = v;
      return this;
    }

    public Builder eps(float v) {
      eps = v;
      return this;
    }

    /** The settings, checked. */
    public AdamSpec spec() {
      return new AdamSpec(learningRate, beta1, beta2, eps, weightDecay, clipNorm, decoupled);
    }

    /** A fresh optimizer of {@link #spec()}. */
    public Adam build() {
      return spec().make();
    }
  }

  @Override
  public AdamSpec spec() {
    return (AdamSpec) super.spec();
  }

  /** lr / (1 − β1^t), computed in double as PyTorch does, then used in float. */
  private float stepSize() {
    return (float) (learningRate() / (1 - Math.pow(beta1, step())));
  }

  /** √(1 − β2^t). */
  private float biasCorrection2Sqrt() {
    return (float) Math.sqrt(1 - Math.pow(beta2, step()));
  }

  @Override
  public void update(float[] p, float[] g, float scale, float[][] state, int n) {
    float[] m = state[0], v = state[1];
    float lr = learningRate(), wd = weightDecay, stepSize = stepSize(), bc2 = biasCorrection2Sqrt();
    for (int i = 0; i < n; i++) {
      float gi = g[i] * scale, pi = p[i];
      if (decoupled) pi *= 1f - lr * wd;
      else gi += wd * pi;
      float mi = beta1 * m[i] + (1f - beta1) * gi;
      float vi = beta2 * v[i] + (1f - beta2) * gi * gi;
      m[i] = mi;
      v[i] = vi;
      p[i] = pi - stepSize * (mi / ((float) Math.sqrt(vi) / bc2 + eps));
    }
  }

  private static final Kernel UPDATE = Kernel.of(PROGRAM, "adam_update").buffers("p", "g", "m", "v", "norm_sq")
      .ints("n")
      .floats("lr", "wd", "max_norm", "b1", "b2", "eps", "step_size", "bc2_sqrt", "decoupled");

  @Override
  public Kernel kernel() {
    return UPDATE;
  }

  @Override
  public float[] hyperParameters() {
    return new float[] {learningRate(), weightDecay, clipNorm(), beta1, beta2, eps, stepSize(), biasCorrection2Sqrt(),
        decoupled ? 1f : 0f};
  }
}
