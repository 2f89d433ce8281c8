package dev.nodal.train;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
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
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Optimizers;
import dev.nodal.optim.Schedule;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The training loop of a classifier graph: epochs of seeded, shuffled batches, a summary line per
 * epoch, the run folder's metrics, and a checkpoint after every epoch; a {@link Progress} (a
 * progress bar, say) hears of every step. Resuming from a checkpoint continues with the same batches, parameters and
 * optimizer state, so on the CPU the result equals an uninterrupted run bit for bit.
 */
public final class Trainer {
  private static final Logger log = LoggerFactory.getLogger(Trainer.class);

  /**
   * The settings of a run; also written into the checkpoint. Made with {@link #builder()}, whose
   * defaults are the command line's: the MLP, 10 epochs, batch 128, seed 42, SGD with learning
   * rate 0.05 and momentum 0.9, cosine schedule.
   *
   * <p>{@code model} is what the run's log and trainer.json call the graph: the name of a zoo model
   * ({@link ModelZoo#NAMES}), and then the graph must be that model (checked by the trainer and
   * when settings are read from a checkpoint, {@link #fromCheckpoint}), or any other text, a label
   * for a graph of one's own, which the log calls a label.
   *
   * @param optimizer the optimizer's name; {@code hyper} its hyper-parameters ({@link Optimizers})
   */
  public record Settings(String model, int epochs, int batchSize, long seed, String optimizer, Map<String, Object> hyper,
      Schedule schedule) {

    public Settings {
      hyper = Map.copyOf(hyper);
      if (epochs < 1) throw new IllegalArgumentException("epochs must be at least 1, got " + epochs);
      if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
      Optimizers.create(optimizer, hyper); // checks the name and every hyper-parameter now
    }

    /** A fresh optimizer of these settings, at step 0. */
    public Optimizer newOptimizer() {
      return Optimizers.create(optimizer, hyper);
    }

    public static Builder builder() {
      return new Builder();
    }

    /** Named settings with the command line's defaults. */
    public static final class Builder {
      private String model = "mlp", optimizer = "sgd";
      private int epochs = 10, batchSize = 128;
      private long seed = 42;
      private Map<String, Object> hyper = Map.of("lr", 0.05f, "momentum", 0.9f);
      private Schedule schedule = new Schedule("cosine", Map.of());

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

      /** The optimizer by name with its hyper-parameters; keys left out take its defaults. */
      public Builder optimizer(String name, Map<String, ?> hyperParameters) {
        optimizer = name;
        hyper = new LinkedHashMap<>(hyperParameters);
        return this;
      }

      public Builder schedule(Schedule v) {
        schedule = v;
        return this;
      }

      public Settings build() {
        return new Settings(model, epochs, batchSize, seed, optimizer, hyper, schedule);
      }
    }

    /** The settings as the checkpoint's trainer.json holds them (what --resume reads back). */
    public ObjectNode toJson() {
      ObjectNode o = JSON.createObjectNode();
      o.put("model", model);
      o.put("epochs", epochs);
      o.put("batchSize", batchSize);
      o.put("seed", seed);
      ObjectNode opt = o.putObject("optimizer");
      opt.put("name", optimizer);
      opt.set("hyper", JSON.valueToTree(new TreeMap<>(hyper)));
      ObjectNode sched = o.putObject("schedule");
      sched.put("kind", schedule.kind());
      sched.set("params", JSON.valueToTree(new TreeMap<>(schedule.params())));
      o.put("normalisation", "pixel / 255");
      return o;
    }

    /**
     * The settings of a loaded checkpoint (whose trainer.json {@link Checkpoint#load} has checked),
     * run for {@code epochs} in all. The checkpoint's graph is what trains; its {@code model} is a
     * label ({@link #describe}).
     */
    public static Settings fromCheckpoint(Checkpoint.Loaded loaded, int epochs) {
      String where = loaded.folder().resolve("trainer.json").toString();
      if (!loaded.trainer().has("model")) throw new GraphException(where + ": holds no training settings ('model' and the rest)");
      return fromJson(loaded.trainer(), epochs);
    }

    /**
     * What the logs call {@code graph} trained with these settings: the zoo model's name only when
     * the graph is that model as the zoo builds it now; otherwise a graph labelled with the name,
     * and why it is not the zoo's (a graph of the user's own, a checkpoint written by an older
     * zoo, or a name edited by hand).
     */
    public String describe(Graph graph) {
      if (!ModelZoo.knows(model)) return "a graph labelled '" + model + "'";
      String differs = ModelZoo.differs(model, graph);
      return differs == null ? model : "a graph labelled '" + model + "' (not the zoo's " + model + ": " + differs + ")";
    }

    /** The settings a checkpoint was written with, run for {@code epochs} in all. */
    public static Settings fromJson(ObjectNode o, int epochs) {
      JsonNode opt = o.path("optimizer");
      Builder b = builder().model(o.path("model").asText()).epochs(epochs).batchSize(o.path("batchSize").asInt())
          .seed(o.path("seed").asLong());
      if (opt.has("hyper")) {
        b.optimizer(opt.path("name").asText(), JSON.convertValue(opt.get("hyper"), new TypeReference<Map<String, Object>>() {}));
        JsonNode sched = o.path("schedule");
        b.schedule(new Schedule(sched.path("kind").asText(), JSON.convertValue(sched.get("params"),
            new TypeReference<Map<String, Double>>() {})));
      } else { // checkpoints of the first format: SGD fields and the schedule inside "optimizer"
        b.optimizer("sgd", Map.of("lr", (float) opt.path("learningRate").asDouble(), "momentum",
            (float) opt.path("momentum").asDouble(), "weight_decay", (float) opt.path("weightDecay").asDouble()));
        b.schedule(new Schedule(opt.path("schedule").asText("constant"), Map.of()));
      }
      return b.build();
    }
  }

  private static final ObjectMapper JSON = new ObjectMapper();

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
  private final Settings settings;
  private final Backend backend;
  private final RunFolder run;
  private boolean checkNumerics;
  private Progress progress = Progress.NONE;

  /** Trains {@code graph}; the settings' model name is only a label ({@link Settings#describe}). */
  public Trainer(Graph graph, Settings settings, Backend backend, RunFolder run) {
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
   * plan of {@code settings.epochs()} (the learning-rate schedule spans the whole plan); returns
   * the last epoch's figures.
   */
  public RunFolder.Row train(Dataset train, Dataset test, Checkpoint.Loaded resume, int until) throws IOException {
    Classifier c = Classifier.of(graph);
    int startEpoch = resume == null ? 0 : resume.trainer().path("epochsDone").asInt();
    long step = resume == null ? 0 : resume.trainer().path("step").asLong();
    RunFolder.Row last = run.rows().isEmpty() ? null : run.rows().get(run.rows().size() - 1);
    Optimizer optimizer = settings.newOptimizer();
    try (Session s = backend.compile(graph, CompileOptions.maxBatch(settings.batchSize()).keep(c.logits().name())
            .checkNumerics(checkNumerics));
        BatchLoader loader = new BatchLoader(train, settings.batchSize(), true, settings.seed())) {
      s.setOptimizer(optimizer);
      float baseRate = optimizer.learningRate();
      if (resume != null) {
        resume.restore(s, true);
        if (resume.trainer().has("metrics")) run.restore(RunFolder.Row.listFromJson(resume.trainer().path("metrics")));
        last = run.rows().isEmpty() ? null : run.rows().get(run.rows().size() - 1);
      }
      log.info("Training {} ({} parameters) on {}: {} examples, batch {}, epochs {}..{}",
          settings.describe(graph),
          graph.parameterCount(), backend.name(), train.size(), settings.batchSize(), startEpoch + 1, settings.epochs());
      long totalSteps = (long) settings.epochs() * loader.batchesPerEpoch();
      for (int epoch = startEpoch; epoch < until; epoch++) {
        double lossSum = 0;
        long correct = 0, seen = 0;
        long t0 = System.nanoTime();
        progress.epochStarted(epoch + 1, loader.batchesPerEpoch());
        try {
          for (Iterator<BatchLoader.Batch> it = loader.epoch(epoch); it.hasNext(); ) {
            BatchLoader.Batch b = it.next();
            c.feed(s, b);
            optimizer.setLearningRate((float) settings.schedule().learningRate(baseRate, step, totalSteps));
            float loss = s.trainStep();
            step++;
            if (!Float.isFinite(loss)) {
              throw new GraphException("step " + step + " (epoch " + (epoch + 1) + "): the loss is " + loss
                  + "; training stopped before any checkpoint of this epoch was written. Try a smaller --lr.");
            }
            lossSum += (double) loss * b.n();
            correct += c.correct(s, b);
            seen += b.n();
            progress.step(lossSum / seen, (double) correct / seen, seen / ((System.nanoTime() - t0) / 1e9));
          }
        } finally {
          progress.epochEnded();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        Evaluation ev = Evaluation.of(s, test);
        if (!Double.isFinite(ev.loss())) {
          throw new GraphException("epoch " + (epoch + 1) + ": the test loss is " + ev.loss() + "; training stopped before "
              + "any checkpoint of this epoch was written. Try a smaller --lr.");
        }
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
        List<RunFolder.Row> rows = new ArrayList<>(run.rows());
        rows.add(last);
        state.set("metrics", RunFolder.Row.listToJson(rows)); // the row commits with the checkpoint
        Checkpoint.save(run.folder().resolve("checkpoint"), graph, settings.seed(), s, state);
        run.add(last);
      }
    }
    return last;
  }
}
