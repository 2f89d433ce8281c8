package dev.nodal.io;

/**
 * One finished epoch's figures: a row of the run folder's metrics.csv, and of the {@code metrics}
 * that trainer.json commits with the checkpoint ({@link TrainerState#metrics()}).
 *
 * @param step the updates done by the end of the epoch, in the whole run
 * @param loss the mean training loss over the epoch's examples
 */
public record EpochMetrics(int epoch, long step, double loss, double trainAccuracy, double testLoss, double testAccuracy,
    double samplesPerSecond) {}
