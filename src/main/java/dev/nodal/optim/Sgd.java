package dev.nodal.optim;

/**
 * Stochastic gradient descent with optional momentum and L2 weight decay:
 * {@code g' = g + wd·p}; with momentum μ > 0, {@code v = μ·v + g'} and {@code p −= lr·v};
 * otherwise {@code p −= lr·g'}. The learning rate may be changed between steps.
 */
public final class Sgd implements Optimizer {
  private float learningRate;
  private final float momentum;
  private final float weightDecay;

  public Sgd(float learningRate) {
    this(learningRate, 0f, 0f);
  }

  public Sgd(float learningRate, float momentum, float weightDecay) {
    if (!(learningRate > 0) || !Float.isFinite(learningRate)) throw new IllegalArgumentException("sgd: learning rate must be > 0, got " + learningRate);
    if (!(momentum >= 0 && momentum < 1)) throw new IllegalArgumentException("sgd: momentum must be in [0, 1), got " + momentum);
    if (!(weightDecay >= 0)) throw new IllegalArgumentException("sgd: weight decay must be >= 0, got " + weightDecay);
    this.learningRate = learningRate;
    this.momentum = momentum;
    this.weightDecay = weightDecay;
  }

  public float learningRate() {
    return learningRate;
  }

  public void setLearningRate(float lr) {
    if (!(lr > 0) || !Float.isFinite(lr)) throw new IllegalArgumentException("sgd: learning rate must be > 0, got " + lr);
    this.learningRate = lr;
  }

  public float momentum() {
    return momentum;
  }

  public float weightDecay() {
    return weightDecay;
  }

  @Override
  public String name() {
    return "sgd";
  }

  @Override
  public int stateSlots() {
    return momentum > 0 ? 1 : 0;
  }

  @Override
  public void update(float[] p, float[] g, float[][] state, int n) {
    float lr = learningRate, wd = weightDecay, mu = momentum;
    if (mu > 0) {
      float[] v = state[0];
      for (int i = 0; i < n; i++) {
        v[i] = mu * v[i] + g[i] + wd * p[i];
        p[i] -= lr * v[i];
      }
    } else {
      for (int i = 0; i < n; i++) p[i] -= lr * (g[i] + wd * p[i]);
    }
  }

  @Override
  public String kernel() {
    return momentum > 0 ? "sgd_momentum_update" : "sgd_update";
  }

  @Override
  public float[] hyperParameters() {
    return momentum > 0 ? new float[] {learningRate, weightDecay, momentum} : new float[] {learningRate, weightDecay};
  }
}
