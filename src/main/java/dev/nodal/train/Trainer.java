package dev.nodal.train;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.data.Dataset;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.io.Checkpoint;
import dev.nodal.optim.Sgd;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of a classifier graph: epochs of seeded, shuffled batches, a progress bar on
 * a terminal, a summary line per epoch, the run folder's metrics and plot, and a checkpoint after
 * every epoch. Resuming from a checkpoint continues with the same batches, parameters and
 * optimizer state, so on the CPU the result equals an uninterrupted run bit for bit.
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  /** The settings of a run; also written into the checkpoint. */
  public record Settings(String model, int epochs, int batchSize, float learningRate, float momentum, float weightDecay,
      String schedule, long seed) {

    public Settings {
      if (!schedule.equals("cosine") && !schedule.equals("constant")) {
        throw new IllegalArgumentException("unknown schedule '" + schedule + "': use cosine or constant");
      }
    }

    /**
     * The learning rate of step {@code step} (0-based) of {@code total}: constant, or cosine
     * annealing from the base rate towards 0 over the whole run.
     */
    public float learningRateAt(long step, long total) {
      if (schedule.equals("constant")) return learningRate;
      return (float) (learningRate * 0.5 * (1 + Math.cos(Math.PI * step / total)));
    }

    ObjectNode toJson() {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("model", model);
      o.put("epochs", epochs);
      o.put("batchSize", batchSize);
      o.put("seed", seed);
      ObjectNode opt = o.putObject("optimizer");
      opt.put("name", "sgd");
      opt.put("learningRate", learningRate);
      opt.put("momentum", momentum);
      opt.put("weightDecay", weightDecay);
      opt.put("schedule", schedule);
      o.put("normalisation", "pixel / 255");
      return o;
    }

    public static Settings fromJson(ObjectNode o, int epochs) {
      var opt = o.path("optimizer");
      return new Settings(o.path("model").asText(), epochs, o.path("batchSize").asInt(),
          (float) opt.path("learningRate").asDouble(), (float) opt.path("momentum").asDouble(),
          (float) opt.path("weightDecay").asDouble(), opt.path("schedule").asText("constant"), o.path("seed").asLong());
    }
  }

  private final Graph graph;
  private final Settings settings;
  private final Backend backend;
  private final RunFolder run;

  public Trainer(Graph graph, Settings settings, Backend backend, RunFolder run) {
    this.graph = graph;
    this.settings = settings;
    this.backend = backend;
    this.run = run;
  }

  /**
   * Trains from epoch {@code resume == null ? 0 : epochs done} up to epoch {@code until} of the
   * plan of {@code settings.epochs()} (the learning-rate schedule spans the whole plan); returns
   * the last epoch's figures.
   */
  public RunFolder.Row train(Dataset train, Dataset test, Checkpoint.Loaded resume, int until) throws IOException {
    Classifier c = Classifier.of(graph);
    int startEpoch = resume == null ? 0 : resume.trainer().path("epochsDone").asInt();
    long step = resume == null ? 0 : resume.trainer().path("step").asLong();
    RunFolder.Row last = run.rows().isEmpty() ? null : run.rows().get(run.rows().size() - 1);
    Sgd sgd = new Sgd(settings.learningRate(), settings.momentum(), settings.weightDecay());
    try (Session s = backend.compile(graph, CompileOptions.maxBatch(settings.batchSize()).keep(c.logits().name()));
        BatchLoader loader = new BatchLoader(train, settings.batchSize(), true, settings.seed())) {
      s.setOptimizer(sgd);
      if (resume != null) resume.restore(s, true);
      log.info("Training {} ({} parameters) on {}: {} examples, batch {}, epochs {}..{}", settings.model(),
          graph.parameterCount(), backend.name(), train.size(), settings.batchSize(), startEpoch + 1, settings.epochs());
      long totalSteps = (long) settings.epochs() * loader.batchesPerEpoch();
      for (int epoch = startEpoch; epoch < until; epoch++) {
        double lossSum = 0;
        long correct = 0, seen = 0;
        long t0 = System.nanoTime();
        try (ProgressBar bar = progressBar(epoch, loader.batchesPerEpoch())) {
          for (Iterator<BatchLoader.Batch> it = loader.epoch(epoch); it.hasNext(); ) {
            BatchLoader.Batch b = it.next();
            c.feed(s, b);
            sgd.setLearningRate(settings.learningRateAt(step, totalSteps));
            float loss = s.trainStep();
            step++;
            if (!Float.isFinite(loss)) {
              throw new GraphException("step " + step + " (epoch " + (epoch + 1) + "): the loss is " + loss
                  + "; training stopped before any checkpoint of this epoch was written. Try a smaller --lr.");
            }
            lossSum += (double) loss * b.n();
            correct += c.correct(s, b);
            seen += b.n();
            if (bar != null) {
              bar.step();
              bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f acc %.4f %.0f/s", lossSum / seen,
                  (double) correct / seen, seen / ((System.nanoTime() - t0) / 1e9)));
            }
          }
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Evaluation ev = Evaluation.of(s, test);
        last = new RunFolder.Row(epoch + 1, step, lossSum / seen, (double) correct / seen, ev.loss(), ev.accuracy(),
            seen / seconds);
        log.info(String.format(Locale.ROOT,
            "epoch %d/%d: loss %.4f, train accuracy %.4f, test loss %.4f, test accuracy %.4f, %.0f samples/s, %.2f s",
            epoch + 1, settings.epochs(), last.loss(), last.trainAccuracy(), last.testLoss(), last.testAccuracy(),
            last.samplesPerSecond(), seconds));
        ObjectNode state = settings.toJson();
        state.put("epochsDone", epoch + 1);
        state.put("step", step);
        state.put("shuffleSeed", settings.seed());
        state.put("testAccuracy", ev.accuracy());
        state.put("testLoss", ev.loss());
        state.put("device", backend.name());
        Checkpoint.save(run.folder().resolve("checkpoint"), graph, settings.seed(), s, state);
        run.add(last);
      }
    }
    return last;
  }

  /** A progress bar on an interactive terminal; none when output goes to a file or pipe. */
  private static ProgressBar progressBar(int epoch, int batches) {
    if (System.console() == null) return null;
    return new ProgressBarBuilder().setTaskName("epoch " + (epoch + 1)).setInitialMax(batches)
        .setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(250).setMaxRenderedLength(110).build();
  }
}
