package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.parallel.DataParallelBackend;
import dev.nodal.data.FashionMnist;
import dev.nodal.graph.Graph;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.EpochMetrics;
import dev.nodal.io.TrainerSettings;
import dev.nodal.io.TrainerState;
import dev.nodal.optim.OptimizerSpec;
import dev.nodal.optim.Optimizers;
import dev.nodal.optim.Schedule;
import dev.nodal.train.ModelZoo;
import dev.nodal.train.RunFolder;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "train", resourceBundle = "dev.nodal.cli.TrainHelp", description = "Trains a model on Fashion-MNIST and writes a run folder (metrics.csv, curves.png, checkpoint/).")
final class TrainCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Option(names = "--model", defaultValue = "mlp", description = "Model: mlp (default), cnn or cnn-bn. " + ModelZoo.DESCRIPTIONS + ".")
  String model;

  @Option(names = "--epochs", description = "Epochs to train in all (default 10; with --resume, the checkpoint's plan).")
  Integer epochs;

  @Option(names = "--stop-after", description = "Stop after this epoch of the plan, with a checkpoint to --resume from. "
      + "Epochs count from the run's start, with --resume too: --stop-after 3 on a run that has done 2 trains one more.")
  Integer stopAfter;

  @Option(names = "--batch-size", defaultValue = "128", description = "Examples per step (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--optimizer", defaultValue = "sgd", description = "Optimizer: sgd, adam or adamw (default ${DEFAULT-VALUE}).")
  String optimizer;

  /** Its description lists every optimizer's keys as the library defines them ({@link TrainHelp}). */
  @Option(names = "--opt", paramLabel = "KEY=VALUE", descriptionKey = "opt")
  Map<String, String> opt = new LinkedHashMap<>();

  @Option(names = "--lr", description = "Learning rate, the same as --opt lr=... (default 0.05 for sgd, 0.001 for adam and adamw).")
  Float lr;

  @Option(names = "--momentum", description = "SGD momentum, the same as --opt momentum=... (default 0.9).")
  Float momentum;

  @Option(names = "--weight-decay", description = "Weight decay, the same as --opt weight_decay=... (default 0; 0.01 for adamw).")
  Float weightDecay;

  @Option(names = "--schedule", defaultValue = "cosine", description = "Learning-rate schedule over the run: cosine, constant or step (default ${DEFAULT-VALUE}).")
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

  @Mixin SharedOptions.Data data;

  @Option(names = "--out", description = "Run folder (default runs/<timestamp>).")
  Path out;

  @Option(names = "--resume", description = "Run folder to continue; its checkpoint fixes the model and the settings.")
  Path resume;

  @Option(names = "--check-numerics", description = "Check every value and gradient of every step for NaN and infinity, "
      + "and name the first node that produced one (slow: for finding a fault).")
  boolean checkNumerics;

  @Option(names = "--force", description = "Train into an --out that holds a run already, replacing its metrics and checkpoint.")
  boolean force;

  /**
   * The settings of a new run. The shortcuts --lr, --momentum and --weight-decay join the --opt
   * values; SGD without them trains at 0.05 with momentum 0.9, the other optimizers at their own
   * defaults.
   */
  private TrainerSettings newSettings() {
    Map<String, Object> hyper = new LinkedHashMap<>(opt);
    if (optimizer.equals("sgd")) {
      hyper.putIfAbsent("lr", 0.05f);
      hyper.putIfAbsent("momentum", 0.9f);
    }
    if (lr != null) hyper.put("lr", lr);
    if (momentum != null) hyper.put("momentum", momentum);
    if (weightDecay != null) hyper.put("weight_decay", weightDecay);
    return TrainerSettings.builder().model(model).epochs(epochs != null ? epochs : 10).batchSize(batchSize).seed(seed)
        .optimizer(Optimizers.spec(optimizer, hyper)).schedule(Schedule.of(schedule, scheduleOpt)).build();
  }

  @Spec CommandSpec spec;

  /** The options that fix a run's settings: they may not change on --resume. */
  private static final List<String> SETTINGS = List.of("--model", "--batch-size", "--seed", "--optimizer", "--opt", "--lr",
      "--momentum", "--weight-decay", "--schedule", "--schedule-opt");

  /** Every check that needs no data and no device, before anything is read, created or opened. */
  private void checkOptions() {
    if (epochs != null && epochs < 1) throw new IllegalArgumentException("--epochs must be at least 1, got " + epochs);
    if (stopAfter != null && stopAfter < 1) throw new IllegalArgumentException("--stop-after must be at least 1, got " + stopAfter);
    if (stopAfter != null && epochs != null && stopAfter > epochs) {
      throw new IllegalArgumentException("--stop-after " + stopAfter + " is past the run's last epoch (--epochs " + epochs + ")");
    }
    if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    if ((long) batchSize * FashionMnist.PIXELS > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("--batch-size " + batchSize + " is too large: a batch of " + FashionMnist.PIXELS
          + "-pixel images must fit one buffer of 2^31 - 1 floats");
    }
    if (!List.of(ModelZoo.NAMES).contains(model)) {
      throw new IllegalArgumentException("--model " + model + ": unknown; known: " + String.join(", ", ModelZoo.NAMES));
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
    if (parsed.hasMatchedOption("--batch-size") && batchSize != saved.batchSize()) {
      differ.add("--batch-size " + batchSize + " (checkpoint: " + saved.batchSize() + ")");
    }
    if (parsed.hasMatchedOption("--seed") && seed != saved.seed()) differ.add("--seed " + seed + " (checkpoint: " + saved.seed() + ")");
    if (SETTINGS.subList(3, 8).stream().anyMatch(parsed::hasMatchedOption)) {
      OptimizerSpec given = newSettings().optimizer();
      if (!given.equals(saved.optimizer())) {
        differ.add("optimizer " + given.name() + " " + given.attributes() + " (checkpoint: " + saved.optimizer().name() + " "
            + saved.optimizer().attributes() + ")");
      }
    }
    if (SETTINGS.subList(8, 10).stream().anyMatch(parsed::hasMatchedOption)) {
      Schedule given = Schedule.of(schedule, scheduleOpt);
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

  /**
   * Every refusal comes before the run folder is made: options and settings, a run already in
   * --out, the checkpoint to resume, the data, then the devices. A folder this command made is
   * removed again when the run fails before writing anything into it.
   */
  @Override
  public Integer call() throws Exception {
    checkOptions();
    TrainerSettings fresh = resume == null ? newSettings() : null; // checks every option before any data is read
    if (resume == null && out != null && RunFolder.holdsRun(out) && !force) {
      throw new IllegalArgumentException("--out " + out + " holds a run already (metrics.csv or checkpoint/); continue it "
          + "with --resume " + out + ", or replace it with --force");
    }
    Checkpoint.Loaded loaded = resume == null ? null : Checkpoint.load(resume);
    if (loaded != null) checkResume(loaded);
    FashionMnist.Splits splits = FashionMnist.load(data.data, main.data);
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
      try (RunFolder run = new RunFolder(folder, done).plot(new Curves())) {
        if (loaded != null) checkUnchanged(loaded);
        try {
          train(run, loaded, fresh, splits, backend);
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

  private void train(RunFolder run, Checkpoint.Loaded loaded, TrainerSettings fresh, FashionMnist.Splits splits,
      Backend backend) throws Exception {
    Path folder = run.folder();
    Graph graph = loaded != null ? loaded.graph()
        : ModelZoo.build(model, seed, splits.train().featureSize(), FashionMnist.CLASSES);
    TrainerSettings saved = loaded != null ? loaded.requireTrainer().settings() : null;
    TrainerSettings settings = saved != null ? saved.withEpochs(epochs != null ? epochs : saved.epochs()) : fresh;
    System.out.println("Run folder: " + folder.toAbsolutePath() + " (data from " + splits.folder() + ")");
    int until = stopAfter == null ? settings.epochs() : Math.min(stopAfter, settings.epochs());
    EpochMetrics last = new Trainer(graph, settings, backend, run).checkNumerics(checkNumerics)
        .progress(ProgressBars.onTerminal()).train(splits.train(), splits.test(), loaded, until);
    if (until < settings.epochs()) {
      System.out.printf(Locale.ROOT, "Stopped after epoch %d of %d; continue with: ./nodal train --resume %s%n", last.epoch(),
          settings.epochs(), folder);
    } else if (last != null) {
      String files = java.nio.file.Files.exists(folder.resolve("curves.png")) ? "metrics.csv, curves.png, checkpoint/"
          : "metrics.csv, checkpoint/";
      System.out.printf(Locale.ROOT, "Done: test accuracy %.4f after %d epoch%s. See %s (%s);%n"
          + "evaluate with: ./nodal eval --checkpoint %s%n", last.testAccuracy(), last.epoch(), last.epoch() == 1 ? "" : "s", folder, files, folder);
    }
  }
}
