package dev.nodal.train;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.data.Batches;
import dev.nodal.data.Dataset;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.EpochMetrics;
import dev.nodal.io.TrainerSettings;
import dev.nodal.io.TrainerState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of a graph on a {@link Task} (classifying images, modelling text): epochs of
 * the task's seeded batches, an evaluation and a summary line per epoch, the run folder's metrics,
 * and a checkpoint after every epoch; a {@link Progress} (a progress bar, say) hears of every step. Resuming from a checkpoint continues with the same batches, parameters and
 * optimizer state, so on the CPU the result equals an uninterrupted run bit for bit.
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  /** Hears of an epoch's steps as they run: the command line draws its progress bar from it. */
  public interface Progress {
    /** No progress shown. */
    Progress NONE = new Progress() {};

    /** Epoch {@code epoch} (from 1) starts, with {@code batches} steps. */
    default void epochStarted(int epoch, int batches) {}

    /** A step ended; the figures are the epoch's so far. */
    default void step(double meanLoss, double accuracy, double samplesPerSecond) {}

    /** The epoch's steps are done (also when one failed). */
    default void epochEnded() {}
  }

  private final Graph graph;
  private final TrainerSettings settings;
  private final Backend backend;
  private final RunFolder run;
  private boolean checkNumerics;
  private Progress progress = Progress.NONE;

  /** Trains {@code graph}; the settings' model name is only a label ({@link ModelZoo#describe}). */
  public Trainer(Graph graph, TrainerSettings settings, Backend backend, RunFolder run) {
    this.graph = graph;
    this.settings = settings;
    this.backend = backend;
    this.run = run;
  }

  /** Checks every value and gradient of every step for NaN and infinity ({@link CompileOptions#checkNumerics}). */
  public Trainer checkNumerics(boolean on) {
    this.checkNumerics = on;
    return this;
  }

  /** Tells {@code progress} of every epoch's steps; {@link Progress#NONE} by default. */
  public Trainer progress(Progress progress) {
    this.progress = Objects.requireNonNull(progress, "progress");
    return this;
  }

  /**
   * Trains from epoch {@code resume == null ? 0 : epochs done} up to epoch {@code until} of the
   * plan of {@code settings.epochs()} (the learning-rate schedule, attached to the optimizer,
   * spans the whole plan); returns the last epoch's figures. A checkpoint to resume from must hold
   * a trainer's state ({@link Checkpoint.Loaded#requireTrainer()}). Classifies the examples of
   * {@code train}, tested on {@code test} ({@link ImageClassification}).
   */
  public EpochMetrics train(Dataset train, Dataset test, Checkpoint.Loaded resume, int until) throws IOException {
    return train(new ImageClassification(train, test), resume, until);
  }

  /**
   * Trains on {@code task} from epoch {@code resume == null ? 0 : epochs done} up to epoch
   * {@code until} of the plan, as {@link #train(Dataset, Dataset, Checkpoint.Loaded, int)} does;
   * returns the last epoch's figures.
   */
  public EpochMetrics train(Task task, Checkpoint.Loaded resume, int until) throws IOException {
    Classifier c = Classifier.of(graph);
    TrainerState from = resume == null ? null : resume.requireTrainer();
    int startEpoch = from == null ? 0 : from.epochsDone();
    long step = from == null ? 0 : from.step();
    EpochMetrics last = run.rows().isEmpty() ? null : run.rows().get(run.rows().size() - 1);
    try (Session s = backend.compile(graph, CompileOptions.maxBatch(settings.batchSize()).keep(c.logits().name())
            .checkNumerics(checkNumerics));
        Batches loader = task.training(settings)) {
      long totalSteps = (long) settings.epochs() * loader.batchesPerEpoch();
      s.setOptimizer(settings.optimizer().make().schedule(settings.schedule(), totalSteps));
      if (resume != null) {
        resume.restore(s, true);
        if (!from.metrics().isEmpty()) run.restore(from.metrics());
        last = run.rows().isEmpty() ? null : run.rows().get(run.rows().size() - 1);
      }
      log.info("Training {} ({} parameters) on {}: {}, batch {}, epochs {}..{}", ModelZoo.describe(settings.model(), graph),
          graph.parameterCount(), backend.name(), task.describe(), settings.batchSize(), startEpoch + 1, settings.epochs());
      for (int epoch = startEpoch; epoch < until; epoch++) {
        double lossSum = 0;
        long correct = 0, seen = 0, labels = 0;
        long t0 = System.nanoTime();
        progress.epochStarted(epoch + 1, loader.batchesPerEpoch());
        try {
          for (Iterator<BatchLoader.Batch> it = loader.epoch(epoch); it.hasNext(); ) {
            BatchLoader.Batch b = it.next();
            c.feed(s, b);
            float loss = s.trainStep();
            step++;
            if (!Float.isFinite(loss)) {
              throw new GraphException("step " + step + " (epoch " + (epoch + 1) + "): the loss is " + loss
                  + "; training stopped before any checkpoint of this epoch was written. Try a smaller --lr.");
            }
            lossSum += (double) loss * b.n();
            correct += c.correct(s, b);
            seen += b.n();
            labels += b.labels().length;
            progress.step(lossSum / seen, (double) correct / labels, seen / ((System.nanoTime() - t0) / 1e9));
          }
        } finally {
          progress.epochEnded();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Evaluation ev = task.evaluate(s);
        if (!Double.isFinite(ev.loss())) {
          throw new GraphException("epoch " + (epoch + 1) + ": the test loss is " + ev.loss() + "; training stopped before "
              + "any checkpoint of this epoch was written. Try a smaller --lr.");
        }
        last = new EpochMetrics(epoch + 1, step, lossSum / seen, (double) correct / labels, ev.loss(), ev.accuracy(),
            seen / seconds);
        log.info(String.format(Locale.ROOT, "epoch %d/%d: %s, %.0f samples/s, %.2f s", epoch + 1, settings.epochs(),
            task.columns().summary(last), last.samplesPerSecond(), seconds));
        List<EpochMetrics> rows = new ArrayList<>(run.rows());
        rows.add(last); // the row commits with the checkpoint
        TrainerState state = TrainerState.of(settings, epoch + 1, step).withTest(ev.loss(), ev.accuracy())
            .withDevice(backend.name()).withMetrics(rows);
        Checkpoint.save(run.folder().resolve("checkpoint"), graph, settings.seed(), s, state);
        run.add(last);
      }
    }
    return last;
  }
}
