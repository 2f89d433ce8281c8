package dev.nodal.io;

import java.util.List;
import java.util.Objects;

/**
 * Where a training run stands, as its checkpoint's trainer.json records it: the settings, the
 * epochs and updates done, the last test figures, the device, and one {@link EpochMetrics} per
 * finished epoch. {@link Checkpoint#save(java.nio.file.Path, dev.nodal.graph.Graph, long,
 * dev.nodal.backend.Session, TrainerState)} writes it and {@link Checkpoint.Loaded#trainer()}
 * gives it back; files of every earlier format read into it.
 *
 * @param testAccuracy the test accuracy after the last epoch done, NaN when not measured
 * @param testLoss the test loss after the last epoch done, NaN when not measured
 * @param device the backend that trained, as {@code Backend.name()} gives it; null when not said
 * @param metrics the finished epochs' figures, in order; empty when not kept
 */
public record TrainerState(TrainerSettings settings, int epochsDone, long step, double testAccuracy, double testLoss,
    String device, List<EpochMetrics> metrics) {

  public TrainerState {
    Objects.requireNonNull(settings, "settings");
    if (epochsDone < 0 || epochsDone > settings.epochs()) {
      throw new IllegalArgumentException("epochs done must be from 0 to the " + settings.epochs() + " planned, got " + epochsDone);
    }
    if (step < 0) throw new IllegalArgumentException("step must be >= 0, got " + step);
    if (!Double.isNaN(testAccuracy) && !(testAccuracy >= 0 && testAccuracy <= 1)) {
      throw new IllegalArgumentException("test accuracy must be in [0, 1] or NaN, got " + testAccuracy);
    }
    if (Double.isInfinite(testLoss)) throw new IllegalArgumentException("test loss must be finite or NaN, got " + testLoss);
    metrics = List.copyOf(metrics);
  }

  /** After {@code epochsDone} epochs and {@code step} updates; no test figures, device or metrics yet. */
  public static TrainerState of(TrainerSettings settings, int epochsDone, long step) {
    return new TrainerState(settings, epochsDone, step, Double.NaN, Double.NaN, null, List.of());
  }

  /** This state with the test figures of its last epoch. */
  public TrainerState withTest(double loss, double accuracy) {
    return new TrainerState(settings, epochsDone, step, accuracy, loss, device, metrics);
  }

  /** This state, trained on {@code device}. */
  public TrainerState withDevice(String device) {
    return new TrainerState(settings, epochsDone, step, testAccuracy, testLoss, device, metrics);
  }

  /** This state with the figures of its finished epochs. */
  public TrainerState withMetrics(List<EpochMetrics> metrics) {
    return new TrainerState(settings, epochsDone, step, testAccuracy, testLoss, device, metrics);
  }

  /** The seed the batches are shuffled with: the run's seed. */
  public long shuffleSeed() {
    return settings.seed();
  }
}
