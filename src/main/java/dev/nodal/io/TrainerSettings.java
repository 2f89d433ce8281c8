package dev.nodal.io;

import dev.nodal.optim.OptimizerSpec;
import dev.nodal.optim.Schedule;
import dev.nodal.optim.Sgd;
import java.util.Map;
import java.util.Objects;

/**
 * The settings of a training run, checked when made and kept in the checkpoint's trainer.json
 * ({@link TrainerState}). Made with {@link #builder()}, whose defaults are the command line's:
 * the MLP, 10 epochs, batch 128, seed 42, SGD with learning rate 0.05 and momentum 0.9, cosine
 * schedule over the run.
 *
 * <p>{@code model} is what the run's log and trainer.json call the graph: the name of a zoo model
 * or any other text, a label for a graph of one's own; the graph itself is what trains.
 *
 * @param seed the seed of the model's initial weights and of the shuffling
 * @param optimizer the optimizer, made afresh for each session ({@link OptimizerSpec#make()})
 * @param schedule the learning-rate schedule over the {@code epochs} of the run
 * @param stepsPerEpoch the steps of an epoch, after each of which the run evaluates and saves a
 *     checkpoint; 0 (the default) for one pass over the training data, the only choice of an image
 *     classifier's run
 */
public record TrainerSettings(String model, int epochs, int batchSize, long seed, OptimizerSpec optimizer,
    Schedule schedule, int stepsPerEpoch) {

  public TrainerSettings {
    Objects.requireNonNull(model, "model");
    Objects.requireNonNull(optimizer, "optimizer");
    Objects.requireNonNull(schedule, "schedule");
    if (epochs < 1) throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    if (stepsPerEpoch < 0) throw new IllegalArgumentException("steps per epoch must be at least 0, got " + stepsPerEpoch);
  }

  /** These settings, run for {@code epochs} in all (a resumed run extended, say). */
  public TrainerSettings withEpochs(int epochs) {
    return new TrainerSettings(model, epochs, batchSize, seed, optimizer, schedule, stepsPerEpoch);
  }

  public static Builder builder() {
    return new Builder();
  }

  /** Named settings with the command line's defaults. */
  public static final class Builder {
    private String model = "mlp";
    private int epochs = 10, batchSize = 128, stepsPerEpoch;
    private long seed = 42;
    private OptimizerSpec optimizer = Sgd.builder().learningRate(0.05f).momentum(0.9f).spec();
    private Schedule schedule = new Schedule("cosine", Map.of());

    private Builder() {}

    public Builder model(String v) {
      model = v;
      return this;
    }

    public Builder epochs(int v) {
      epochs = v;
      return this;
    }

    public Builder batchSize(int v) {
      batchSize = v;
      return this;
    }

    public Builder seed(long v) {
      seed = v;
      return this;
    }

    /** The optimizer, for example {@code Adam.adamW().learningRate(0.002f).spec()}. */
    public Builder optimizer(OptimizerSpec v) {
      optimizer = v;
      return this;
    }

    public Builder schedule(Schedule v) {
      schedule = v;
      return this;
    }

    /** The steps of an epoch; 0 for one pass over the training data. */
    public Builder stepsPerEpoch(int v) {
      stepsPerEpoch = v;
      return this;
    }

    public TrainerSettings build() {
      return new TrainerSettings(model, epochs, batchSize, seed, optimizer, schedule, stepsPerEpoch);
    }
  }
}
