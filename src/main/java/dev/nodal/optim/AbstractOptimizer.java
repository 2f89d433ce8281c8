package dev.nodal.optim;

/** What every optimizer keeps alike: learning rate, weight decay, clipping norm and step count. */
abstract class AbstractOptimizer implements Optimizer {
  private float learningRate;
  final float weightDecay;
  private final float clipNorm;
  private long step;

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

  @Override
  public void setLearningRate(float lr) {
    check(name(), "lr", lr, lr > 0);
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
