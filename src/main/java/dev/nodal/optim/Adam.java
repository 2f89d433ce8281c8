package dev.nodal.optim;

import dev.nodal.graph.Kernel;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

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
 * Built with {@link #adam()} or {@link #adamW()}: learning rate 0.001, β 0.9 and 0.999, ε 1e-8,
 * weight decay 0 (Adam) or 0.01 (AdamW), no clipping by default.
 */
public final class Adam extends AbstractOptimizer {
  private final float beta1, beta2, eps;
  private final boolean decoupled;

  private Adam(Builder b) {
    super(b.decoupled ? "adamw" : "adam", b);
    String name = name();
    check(name, "beta1", b.beta1, b.beta1 >= 0 && b.beta1 < 1);
    check(name, "beta2", b.beta2, b.beta2 >= 0 && b.beta2 < 1);
    check(name, "eps", b.eps, b.eps > 0);
    this.beta1 = b.beta1;
    this.beta2 = b.beta2;
    this.eps = b.eps;
    this.decoupled = b.decoupled;
  }

  /** Adam with L2 weight decay added to the gradient. */
  public static Builder adam() {
    return new Builder(false);
  }

  /** AdamW: weight decay applied to the parameters, apart from the gradient. */
  public static Builder adamW() {
    return new Builder(true);
  }

  /** Named settings with defaults; {@link #build()} checks them. */
  public static final class Builder extends AbstractOptimizer.Builder<Builder> {
    private final boolean decoupled;
    private float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;

    private Builder(boolean decoupled) {
      super(0.001f, decoupled ? 0.01f : 0f);
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

    public Adam build() {
      return new Adam(this);
    }
  }

  @Override
  public String name() {
    return decoupled ? "adamw" : "adam";
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("lr", learningRate());
    a.put("beta1", beta1);
    a.put("beta2", beta2);
    a.put("eps", eps);
    a.put("weight_decay", weightDecay);
    a.put("clip_norm", clipNorm());
    return a;
  }

  @Override
  public List<String> slots() {
    return List.of("exp_avg", "exp_avg_sq");
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

  private static final Kernel UPDATE = Kernel.of(PROGRAM, "adam_update").buffers("p", "g", "m", "v", "norm_sq").ints("n")
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
