package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.parallel.DataParallelBackend;
import dev.nodal.data.DataException;
import dev.nodal.data.FashionMnist;
import dev.nodal.data.TextCorpus;
import dev.nodal.graph.Graph;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.EpochMetrics;
import dev.nodal.io.TrainerSettings;
import dev.nodal.io.TrainerState;
import dev.nodal.optim.OptimizerSpec;
import dev.nodal.optim.Optimizers;
import dev.nodal.optim.Schedule;
import dev.nodal.train.GptModel;
import dev.nodal.train.ImageClassification;
import dev.nodal.train.LanguageModelling;
import dev.nodal.train.ModelZoo;
import dev.nodal.train.RunFolder;
import dev.nodal.train.Task;
import dev.nodal.train.Trainer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", resourceBundle = "dev.nodal.cli.TrainHelp", description = "Trains a classifier on Fashion-MNIST, or a "
    + "byte-level GPT on a text (--model gpt), and writes a run folder (metrics.csv, curves.png, checkpoint/).")
final class TrainCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Option(names = "--model", defaultValue = "mlp", description = "Model: mlp (default), cnn, cnn-bn or gpt. "
      + ModelZoo.DESCRIPTIONS + "; gpt: a byte-level GPT trained on a text (--data FILE|DIR, default Debian's fortunes), "
      + "sized by --context, --layers, --heads, --width and --dropout.")
  String model;

  @Option(names = "--epochs", description = "Epochs to train in all (default 10; with --resume, the checkpoint's plan). "
      + "An epoch of --model gpt is --eval-every steps.")
  Integer epochs;

  @Mixin SharedOptions.GptSizes gptSizes;

  @Option(names = "--eval-every", description = "gpt: steps between evaluations on the held-out tenth of the text; "
      + "each ends an epoch, with metrics and a checkpoint (default 100).")
  Integer evalEvery;

  @Option(names = "--stop-after", description = "Stop after this epoch of the plan, with a checkpoint to --resume from. "
      + "Epochs count from the run's start, with --resume too: --stop-after 3 on a run that has done 2 trains one more.")
  Integer stopAfter;

  @Option(names = "--batch-size", description = "Examples per step (default 128; gpt: 16 windows of --context + 1 bytes).")
  Integer batchSize;

  @Option(names = "--optimizer", description = "Optimizer: sgd, adam or adamw (default sgd; gpt: adamw with clip_norm 1 "
      + "and weight_decay 0.1).")
  String optimizer;

  /** Its description lists every optimizer's keys as the library defines them ({@link TrainHelp}). */
  @Option(names = "--opt", paramLabel = "KEY=VALUE", descriptionKey = "opt")
  Map<String, String> opt = new LinkedHashMap<>();

  @Option(names = "--lr", description = "Learning rate, the same as --opt lr=... (default 0.05 for sgd, 0.001 for adam and "
      + "adamw; gpt: 0.003).")
  Float lr;

  @Option(names = "--momentum", description = "SGD momentum, the same as --opt momentum=... (default 0.9).")
  Float momentum;

  @Option(names = "--weight-decay", description = "Weight decay, the same as --opt weight_decay=... (default 0; 0.01 for adamw).")
  Float weightDecay;

  @Option(names = "--schedule", defaultValue = "cosine", description = "Learning-rate schedule over the run: cosine, constant "
      + "or step (default ${DEFAULT-VALUE}; gpt: with warmup_steps " + GPT_WARMUP + " unless given).")
  String schedule;

  @Option(names = "--schedule-opt", paramLabel = "KEY=VALUE", description = "A schedule parameter: t_max, min_lr (cosine); "
      + "step_size, gamma (step); warmup_steps, warmup_start (any). Repeatable.")
  Map<String, String> scheduleOpt = new LinkedHashMap<>();

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the weights and the shuffling (default ${DEFAULT-VALUE}).")
  long seed;

  @Mixin SharedOptions.Device device;

  @Option(names = "--devices", split = ",", paramLabel = "DEVICE", description = "Train data-parallel on several devices "
      + "instead of --device: a comma-separated list of selectors (cpu, opencl, opencl:P:D; one may repeat), or all "
      + "(every OpenCL GPU and accelerator). Each batch is split by rows across them and their gradients summed; the run "
      + "folder and checkpoint are those of one device.")
  List<String> devices;

  @Option(names = "--data", description = "Fashion-MNIST: a folder holding its four files (searched first). gpt: a UTF-8 "
      + "text file, or a folder whose regular files but .dat indexes are read in sorted order; default "
      + "/usr/share/games/fortunes.")
  Path data;

  @Option(names = "--out", description = "Run folder (default runs/<timestamp>).")
  Path out;

  @Option(names = "--resume", description = "Run folder to continue; its checkpoint fixes the model and the settings.")
  Path resume;

  @Option(names = "--check-numerics", description = "Check every value and gradient of every step for NaN and infinity, "
      + "and name the first node that produced one (slow: for finding a fault).")
  boolean checkNumerics;

  @Option(names = "--force", description = "Train into an --out that holds a run already, replacing its metrics and checkpoint.")
  boolean force;

  /** Warm-up steps of a gpt run's schedule unless --schedule-opt gives them. */
  static final int GPT_WARMUP = 100;

  /**
   * The settings of a new run of {@code model}. The shortcuts --lr, --momentum and --weight-decay
   * join the --opt values; SGD without them trains at 0.05 with momentum 0.9, the other optimizers
   * at their own defaults. A gpt run trains with AdamW and {@link SharedOptions#GPT_DEFAULTS} by default, its schedule warming up over {@link #GPT_WARMUP} steps, an epoch
   * every --eval-every steps.
   */
  private TrainerSettings newSettings(String model) {
    boolean gpt = model.equals(GptModel.NAME);
    String name = optimizer != null ? optimizer : gpt ? "adamw" : "sgd";
    Map<String, Object> hyper = new LinkedHashMap<>(opt);
    if (name.equals("sgd")) {
      hyper.putIfAbsent("lr", 0.05f);
      hyper.putIfAbsent("momentum", 0.9f);
    } else if (gpt) {
      SharedOptions.GPT_DEFAULTS.forEach((key, value) -> {
        if (!key.equals("weight_decay") || name.equals("adamw")) hyper.putIfAbsent(key, value);
      });
    }
    if (lr != null) hyper.put("lr", lr);
    if (momentum != null) hyper.put("momentum", momentum);
    if (weightDecay != null) hyper.put("weight_decay", weightDecay);
    Map<String, String> sched = new LinkedHashMap<>(scheduleOpt);
    if (gpt) sched.putIfAbsent("warmup_steps", Integer.toString(GPT_WARMUP));
    return TrainerSettings.builder().model(model).epochs(epochs != null ? epochs : 10)
        .batchSize(batchSize != null ? batchSize : gpt ? SharedOptions.GPT_TRAIN_BATCH : 128).seed(seed).optimizer(Optimizers.spec(name, hyper))
        .schedule(Schedule.of(schedule, sched)).stepsPerEpoch(gpt ? (evalEvery != null ? evalEvery : 100) : 0).build();
  }

  @Spec CommandSpec spec;

  /** The options that fix a run's settings: they may not change on --resume. */
  private static final List<String> SETTINGS = List.of("--model", "--batch-size", "--seed", "--optimizer", "--opt", "--lr",
      "--momentum", "--weight-decay", "--schedule", "--schedule-opt");

  /** The options of --model gpt only; on --resume, those given must agree with the checkpoint's graph and settings. */
  private static final List<String> GPT_OPTIONS =
      Stream.concat(SharedOptions.GptSizes.NAMES.stream(), Stream.of("--eval-every")).toList();

  /** Every check that needs no data and no device, before anything is read, created or opened. */
  private void checkOptions() {
    if (epochs != null && epochs < 1) throw new IllegalArgumentException("--epochs must be at least 1, got " + epochs);
    if (stopAfter != null && stopAfter < 1) throw new IllegalArgumentException("--stop-after must be at least 1, got " + stopAfter);
    if (stopAfter != null && epochs != null && stopAfter > epochs) {
      throw new IllegalArgumentException("--stop-after " + stopAfter + " is past the run's last epoch (--epochs " + epochs + ")");
    }
    if (batchSize != null && batchSize < 1) {
      throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    }
    if (evalEvery != null && evalEvery < 1) {
      throw new IllegalArgumentException("--eval-every must be at least 1, got " + evalEvery);
    }
    boolean gpt = model.equals(GptModel.NAME);
    if (!gpt && !List.of(ModelZoo.NAMES).contains(model)) {
      throw new IllegalArgumentException("--model " + model + ": unknown; known: " + String.join(", ", ModelZoo.NAMES)
          + ", " + GptModel.NAME);
    }
    var parsed = spec.commandLine().getParseResult();
    if (resume == null && !gpt) {
      for (String o : GPT_OPTIONS) {
        if (parsed.hasMatchedOption(o)) throw new IllegalArgumentException(o + " applies to --model gpt only, not " + model);
      }
    }
    GptModel sizes = gpt && resume == null ? gptSizes.model() : null; // checks the sizes
    long perBatch = sizes != null ? (long) sizes.context() * GptModel.VOCAB : FashionMnist.PIXELS;
    if (batchSize != null && batchSize * perBatch > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("--batch-size " + batchSize + " is too large: a batch of " + (sizes != null
          ? "logits of " + perBatch + " floats per window" : FashionMnist.PIXELS + "-pixel images")
          + " must fit one buffer of 2^31 - 1 floats");
    }
    Backends.checkSelector(device.device);
    if (devices != null) {
      if (spec.commandLine().getParseResult().hasMatchedOption("--device")) {
        throw new IllegalArgumentException("give --device or --devices, not both");
      }
      if (!(devices.size() == 1 && devices.get(0).trim().equalsIgnoreCase("all"))) devices.forEach(Backends::checkSelector);
    }
    if (resume != null && (out != null || force)) {
      throw new IllegalArgumentException("--resume continues the run in its own folder: leave out --out and --force");
    }
  }

  /** With --resume: the settings options given must agree with the checkpoint's; lists those that do not. */
  private void checkResume(Checkpoint.Loaded loaded) {
    TrainerState state = loaded.requireTrainer();
    TrainerSettings saved = state.settings();
    var parsed = spec.commandLine().getParseResult();
    List<String> differ = new ArrayList<>();
    if (parsed.hasMatchedOption("--model") && !model.equals(saved.model())) differ.add("--model " + model + " (checkpoint: " + saved.model() + ")");
    differ.addAll(gptDifferences(loaded));
    if (parsed.hasMatchedOption("--batch-size") && batchSize.intValue() != saved.batchSize()) {
      differ.add("--batch-size " + batchSize + " (checkpoint: " + saved.batchSize() + ")");
    }
    if (parsed.hasMatchedOption("--seed") && seed != saved.seed()) differ.add("--seed " + seed + " (checkpoint: " + saved.seed() + ")");
    if (SETTINGS.subList(3, 8).stream().anyMatch(parsed::hasMatchedOption)) {
      OptimizerSpec given = newSettings(saved.model()).optimizer();
      if (!given.equals(saved.optimizer())) {
        differ.add("optimizer " + given.name() + " " + given.attributes() + " (checkpoint: " + saved.optimizer().name() + " "
            + saved.optimizer().attributes() + ")");
      }
    }
    if (SETTINGS.subList(8, 10).stream().anyMatch(parsed::hasMatchedOption)) {
      Schedule given = newSettings(saved.model()).schedule();
      if (!given.equals(saved.schedule())) differ.add("schedule " + given + " (checkpoint: " + saved.schedule() + ")");
    }
    if (!differ.isEmpty()) {
      throw new IllegalArgumentException("--resume " + resume + ": these options differ from the checkpoint's settings: "
          + String.join("; ", differ) + ". A resumed run keeps its settings; only --epochs (to extend it), --stop-after, "
          + "--device and --data may change.");
    }
    int planned = epochs != null ? epochs : saved.epochs();
    if (stopAfter != null && stopAfter > planned) {
      throw new IllegalArgumentException("--stop-after " + stopAfter + " is past the run's last epoch (" + planned + ")");
    }
    int done = state.epochsDone();
    if (planned <= done) {
      throw new IllegalArgumentException("--resume " + resume + ": the run has done " + done + " of " + planned
          + " epochs already; pass --epochs N with N > " + done + " to extend it");
    }
    if (stopAfter != null && stopAfter <= done) {
      throw new IllegalArgumentException("--stop-after " + stopAfter + ": the run has done " + done + " of " + planned
          + " epochs already, and --stop-after names an epoch of the whole run; give one from " + (done + 1) + " to "
          + planned + ", or leave it out to finish the run");
    }
  }

  /** The gpt options given on --resume that differ from the checkpoint's model and settings. */
  private List<String> gptDifferences(Checkpoint.Loaded loaded) {
    var parsed = spec.commandLine().getParseResult();
    TrainerSettings saved = loaded.requireTrainer().settings();
    List<String> given = GPT_OPTIONS.stream().filter(parsed::hasMatchedOption).toList();
    if (given.isEmpty()) return List.of();
    if (!saved.model().equals(GptModel.NAME)) {
      return List.of(String.join(", ", given) + " (checkpoint: --model " + saved.model() + ")");
    }
    GptModel m = GptModel.of(loaded.graph());
    List<String> differ = new ArrayList<>();
    if (gptSizes.context != null && gptSizes.context != m.context()) differ.add("--context " + gptSizes.context + " (checkpoint: " + m.context() + ")");
    if (gptSizes.layers != null && gptSizes.layers != m.layers()) differ.add("--layers " + gptSizes.layers + " (checkpoint: " + m.layers() + ")");
    if (gptSizes.heads != null && gptSizes.heads != m.heads()) differ.add("--heads " + gptSizes.heads + " (checkpoint: " + m.heads() + ")");
    if (gptSizes.width != null && gptSizes.width != m.width()) differ.add("--width " + gptSizes.width + " (checkpoint: " + m.width() + ")");
    if (gptSizes.dropout != null && gptSizes.dropout != m.dropout()) differ.add("--dropout " + gptSizes.dropout + " (checkpoint: " + m.dropout() + ")");
    if (evalEvery != null && evalEvery != saved.stepsPerEpoch()) {
      differ.add("--eval-every " + evalEvery + " (checkpoint: " + saved.stepsPerEpoch() + ")");
    }
    return differ;
  }

  /** What trains, and where its data came from, as the first line of the run says it. */
  private record Work(Task task, String from) {}

  /** The task of the run: Fashion-MNIST for the classifiers, a text for gpt (its context from the checkpoint on --resume). */
  private Work work(Checkpoint.Loaded loaded) throws DataException {
    String m = loaded != null ? loaded.requireTrainer().settings().model() : model;
    if (m.equals(GptModel.NAME)) {
      int ctx = loaded != null ? GptModel.of(loaded.graph()).context() : gptSizes.model().context();
      TextCorpus text = TextCorpus.load(data, ctx);
      return new Work(new LanguageModelling(text, ctx), text.source());
    }
    FashionMnist.Splits splits = FashionMnist.load(data, main.data);
    return new Work(new ImageClassification(splits.train(), splits.test()), splits.folder().toString());
  }

  /**
   * Every refusal comes before the run folder is made: options and settings, a run already in
   * --out, the checkpoint to resume, the data, then the devices. A folder this command made is
   * removed again when the run fails before writing anything into it.
   */
  @Override
  public Integer call() throws Exception {
    checkOptions();
    TrainerSettings fresh = resume == null ? newSettings(model) : null; // checks every option before any data is read
    if (resume == null && out != null && RunFolder.holdsRun(out) && !force) {
      throw new IllegalArgumentException("--out " + out + " holds a run already (metrics.csv or checkpoint/); continue it "
          + "with --resume " + out + ", or replace it with --force");
    }
    Checkpoint.Loaded loaded = resume == null ? null : Checkpoint.load(resume);
    if (loaded != null) checkResume(loaded);
    Work work = work(loaded);
    try (Backend backend = devices == null ? Backends.open(device.device, main.options)
        : new DataParallelBackend(Backends.openEach(devices, main.options))) {
      Path runs = Path.of("runs");
      boolean runsExisted = Files.exists(runs);
      Path folder;
      boolean created;
      if (resume != null) {
        folder = resume;
        created = false;
      } else if (out != null) {
        folder = out;
        created = !Files.exists(out);
      } else {
        folder = RunFolder.createUnique(runs, LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        created = true;
      }
      int done = loaded == null ? 0 : loaded.requireTrainer().epochsDone();
      RunFolder.Columns columns = work.task().columns();
      try (RunFolder run = new RunFolder(folder, done, columns).plot(new Curves(columns))) {
        if (loaded != null) checkUnchanged(loaded);
        try {
          train(run, loaded, fresh, work, backend);
        } catch (Exception | Error e) {
          if (created && removeIfEmpty(run) && out == null && resume == null && !runsExisted) deleteIfEmpty(runs);
          throw e;
        }
      }
    }
    return 0;
  }

  /**
   * Refuses to resume when the checkpoint moved on between its reading and the lock (another run
   * was still writing the folder): training from the older one would overwrite the newer.
   */
  private void checkUnchanged(Checkpoint.Loaded loaded) throws Exception {
    TrainerState then = loaded.requireTrainer(), now = Checkpoint.load(resume).requireTrainer();
    if (now.epochsDone() != then.epochsDone() || now.step() != then.step()) {
      throw new IllegalStateException("--resume " + resume + ": another run saved epoch " + now.epochsDone()
          + " while this one started from epoch " + then.epochsDone() + "; resume again once it has ended");
    }
  }

  /**
   * A run folder this command made and left empty (only its lock) is removed again on failure;
   * true when it was.
   */
  private static boolean removeIfEmpty(RunFolder run) throws IOException {
    run.close();
    try (var files = Files.list(run.folder())) {
      if (!files.allMatch(f -> f.getFileName().toString().equals(".lock"))) return false;
    }
    Files.deleteIfExists(run.folder().resolve(".lock"));
    return deleteIfEmpty(run.folder());
  }

  private static boolean deleteIfEmpty(Path folder) throws IOException {
    try (var files = Files.list(folder)) {
      if (files.findAny().isPresent()) return false;
    }
    Files.deleteIfExists(folder);
    return true;
  }

  private void train(RunFolder run, Checkpoint.Loaded loaded, TrainerSettings fresh, Work work, Backend backend)
      throws Exception {
    Path folder = run.folder();
    Graph graph = loaded != null ? loaded.graph() : model.equals(GptModel.NAME) ? gptSizes.model().build(seed)
        : ModelZoo.build(model, seed, ((ImageClassification) work.task()).train().featureSize(), FashionMnist.CLASSES);
    TrainerSettings saved = loaded != null ? loaded.requireTrainer().settings() : null;
    TrainerSettings settings = saved != null ? saved.withEpochs(epochs != null ? epochs : saved.epochs()) : fresh;
    System.out.println("Run folder: " + folder.toAbsolutePath() + " (data from " + work.from() + ")");
    int until = stopAfter == null ? settings.epochs() : Math.min(stopAfter, settings.epochs());
    EpochMetrics last = new Trainer(graph, settings, backend, run).checkNumerics(checkNumerics)
        .progress(ProgressBars.onTerminal()).train(work.task(), loaded, until);
    if (until < settings.epochs()) {
      System.out.printf(Locale.ROOT, "Stopped after epoch %d of %d; continue with: ./nodal train --resume %s%n", last.epoch(),
          settings.epochs(), folder);
    } else if (last != null && run.columns() == RunFolder.Columns.LANGUAGE_MODEL) {
      System.out.printf(Locale.ROOT, "Done: validation loss %.4f nats (%.3f bits per byte) after %d epoch%s (%d steps). "
          + "See %s (%s).%n", last.testLoss(), RunFolder.Columns.bits(last.testLoss()), last.epoch(),
          last.epoch() == 1 ? "" : "s", last.step(), folder, files(folder));
    } else if (last != null) {
      System.out.printf(Locale.ROOT, "Done: test accuracy %.4f after %d epoch%s. See %s (%s);%n"
          + "evaluate with: ./nodal eval --checkpoint %s%n", last.testAccuracy(), last.epoch(), last.epoch() == 1 ? "" : "s",
          folder, files(folder), folder);
    }
  }

  /** The files a finished run left in {@code folder}. */
  private static String files(Path folder) {
    return Files.exists(folder.resolve("curves.png")) ? "metrics.csv, curves.png, checkpoint/" : "metrics.csv, checkpoint/";
  }
}
