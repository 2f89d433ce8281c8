package dev.nodal.optim;

import java.util.Objects;

/** What every optimizer keeps alike: its spec, the step count and the schedule attached. */
abstract class AbstractOptimizer implements Optimizer {
  private final OptimizerSpec spec;
  private Schedule schedule;
  private long totalSteps;
  private long step;
  /** The rate of the current update, worked out when the step or the schedule changes. */
  private float rate;

  /** The settings every optimizer's builder has; each builder adds its own. */
  @SuppressWarnings("unchecked")
  abstract static class Builder<B extends Builder<B>> {
    float learningRate, weightDecay, clipNorm = HyperParameter.CLIP_NORM.defaultNumber();

    Builder(HyperParameter learningRate, HyperParameter weightDecay) {
      this.learningRate = learningRate.defaultNumber();
      this.weightDecay = weightDecay.defaultNumber();
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

  AbstractOptimizer(OptimizerSpec spec) {
    this.spec = Objects.requireNonNull(spec, "spec");
    this.rate = spec.learningRate();
  }

  @Override
  public OptimizerSpec spec() {
    return spec;
  }

  @Override
  public Optimizer schedule(Schedule schedule, long totalSteps) {
    Objects.requireNonNull(schedule, "schedule");
    if (totalSteps < 1) throw new IllegalArgumentException(name() + ": a schedule spans at least 1 step, got " + totalSteps);
    this.schedule = schedule;
    this.totalSteps = totalSteps;
    rate = rateOf(step);
    return this;
  }

  @Override
  public Schedule schedule() {
    return schedule;
  }

  @Override
  public long totalSteps() {
    return schedule == null ? 0 : totalSteps;
  }

  @Override
  public float learningRate() {
    return rate;
  }

  /** The rate of update {@code t} (from 1; 0 means the first): the schedule's of step t − 1. */
  private float rateOf(long t) {
    float base = spec.learningRate();
    return schedule == null ? base : (float) schedule.learningRate(base, Math.max(0, t - 1), totalSteps);
  }

  @Override
  public long step() {
    return step;
  }

  @Override
  public void setStep(long step) {
    if (step < 0) throw new IllegalArgumentException(name() + ": step count must be >= 0, got " + step);
    this.step = step;
    rate = rateOf(step);
  }

  @Override
  public void beginStep() {
    step++;
    rate = rateOf(step);
  }

  @Override
  public String toString() {
    return name() + " " + spec.attributes() + (schedule == null ? "" : ", " + schedule + " over " + totalSteps + " steps")
        + ", step " + step;
  }
}
