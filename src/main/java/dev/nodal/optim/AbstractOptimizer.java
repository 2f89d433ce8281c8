package dev.nodal.optim;

/** What every optimizer keeps alike: learning rate, weight decay, clipping norm and step count. */
abstract class AbstractOptimizer implements Optimizer {
  private float learningRate;
  final float weightDecay;
  private final float clipNorm;
  private long step;

  /** The settings every optimizer's builder has; each builder adds its own. */
  @SuppressWarnings("unchecked")
  abstract static class Builder<B extends Builder<B>> {
    float learningRate, weightDecay, clipNorm;

    Builder(float learningRate, float weightDecay) {
      this.learningRate = learningRate;
      this.weightDecay = weightDecay;
    }

    public B learningRate(float v) {
      learningRate = v;
      return (B) this;
    }

    public B weightDecay(float v) {
      weightDecay = v;
      return (B) this;
    }

    /** Clips the global gradient norm to {@code v} before each update; 0 (the default) does not. */
    public B clipNorm(float v) {
      clipNorm = v;
      return (B) this;
    }
  }

  AbstractOptimizer(String name, Builder<?> b) {
    this(name, b.learningRate, b.weightDecay, b.clipNorm);
  }

  AbstractOptimizer(String name, float learningRate, float weightDecay, float clipNorm) {
    check(name, "lr", learningRate, learningRate > 0);
    check(name, "weight_decay", weightDecay, weightDecay >= 0);
    check(name, "clip_norm", clipNorm, clipNorm >= 0);
    this.learningRate = learningRate;
    this.weightDecay = weightDecay;
    this.clipNorm = clipNorm;
  }

  static void check(String name, String key, float value, boolean ok) {
    if (!ok || !Float.isFinite(value)) throw new IllegalArgumentException(name + ": " + key + " out of range: " + value);
  }

  @Override
  public float learningRate() {
    return learningRate;
  }

  /** Schedules may bring the rate down to 0 (a step schedule with gamma 0, a cosine's end), as PyTorch's do. */
  @Override
  public void setLearningRate(float lr) {
    check(name(), "lr", lr, lr >= 0);
    this.learningRate = lr;
  }

  public float weightDecay() {
    return weightDecay;
  }

  @Override
  public float clipNorm() {
    return clipNorm;
  }

  @Override
  public long step() {
    return step;
  }

  @Override
  public void setStep(long step) {
    if (step < 0) throw new IllegalArgumentException(name() + ": step count must be >= 0, got " + step);
    this.step = step;
  }

  @Override
  public void beginStep() {
    step++;
  }
}
