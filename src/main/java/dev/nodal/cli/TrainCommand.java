package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.data.FashionMnist;
import dev.nodal.graph.Graph;
import dev.nodal.io.Checkpoint;
import dev.nodal.train.ModelZoo;
import dev.nodal.train.RunFolder;
import dev.nodal.train.Trainer;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "train", description = "Trains a model on Fashion-MNIST and writes a run folder (metrics.csv, curves.png, checkpoint/).")
final class TrainCommand implements Callable<Integer> {
  @Option(names = "--model", defaultValue = "mlp", description = "Model (default ${DEFAULT-VALUE}: 784-256-128-10 with ReLU).")
  String model;

  @Option(names = "--epochs", description = "Epochs to train in all (default 10; with --resume, the checkpoint's plan).")
  Integer epochs;

  @Option(names = "--stop-after", description = "Stop after this epoch of the plan, with a checkpoint to --resume from.")
  Integer stopAfter;

  @Option(names = "--batch-size", defaultValue = "128", description = "Examples per step (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Option(names = "--lr", defaultValue = "0.05", description = "Learning rate (default ${DEFAULT-VALUE}).")
  float lr;

  @Option(names = "--momentum", defaultValue = "0.9", description = "SGD momentum (default ${DEFAULT-VALUE}).")
  float momentum;

  @Option(names = "--weight-decay", defaultValue = "0", description = "L2 weight decay (default ${DEFAULT-VALUE}).")
  float weightDecay;

  @Option(names = "--schedule", defaultValue = "cosine", description = "Learning-rate schedule over the run: cosine or constant (default ${DEFAULT-VALUE}).")
  String schedule;

  @Option(names = "--optimizer", defaultValue = "sgd", description = "Optimizer: sgd (with --momentum and --weight-decay).")
  String optimizer;

  @Option(names = "--seed", defaultValue = "42", description = "Seed of the weights and the shuffling (default ${DEFAULT-VALUE}).")
  long seed;

  @Mixin SharedOptions.Device device;

  @Mixin SharedOptions.Data data;

  @Option(names = "--out", description = "Run folder (default runs/<timestamp>).")
  Path out;

  @Option(names = "--resume", description = "Run folder to continue; its checkpoint fixes the model and the settings.")
  Path resume;

  @Override
  public Integer call() throws Exception {
    if (!optimizer.equals("sgd")) throw new IllegalArgumentException("unknown optimizer '" + optimizer + "': use sgd");
    FashionMnist.Splits splits = FashionMnist.load(data.data);
    Checkpoint.Loaded loaded = resume == null ? null : Checkpoint.load(resume);
    Graph graph;
    Trainer.Settings settings;
    Path folder;
    if (loaded != null) {
      graph = loaded.graph();
      settings = Trainer.Settings.fromJson(loaded.trainer(), epochs != null ? epochs : loaded.trainer().path("epochs").asInt());
      folder = resume;
    } else {
      graph = ModelZoo.build(model, seed, splits.train().featureSize(), FashionMnist.CLASSES);
      settings = new Trainer.Settings(model, epochs != null ? epochs : 10, batchSize, lr, momentum, weightDecay, schedule, seed);
      folder = out != null ? out : Path.of("runs", LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
    }
    int done = loaded == null ? 0 : loaded.trainer().path("epochsDone").asInt();
    RunFolder run = new RunFolder(folder, done);
    System.out.println("Run folder: " + folder.toAbsolutePath() + " (data from " + splits.folder() + ")");
    try (Backend backend = Backends.open(device.device)) {
      int until = stopAfter == null ? settings.epochs() : Math.min(stopAfter, settings.epochs());
      RunFolder.Row last = new Trainer(graph, settings, backend, run).train(splits.train(), splits.test(), loaded, until);
      if (until < settings.epochs()) {
        System.out.printf("Stopped after epoch %d of %d; continue with: ./nodal train --resume %s%n", until, settings.epochs(), folder);
      } else if (last != null) {
        String files = java.nio.file.Files.exists(folder.resolve("curves.png")) ? "metrics.csv, curves.png, checkpoint/"
            : "metrics.csv, checkpoint/";
        System.out.printf("Done: test accuracy %.4f after %d epochs. See %s (%s);%n"
            + "evaluate with: ./nodal eval --checkpoint %s%n", last.testAccuracy(), last.epoch(), folder, files, folder);
      }
    }
    return 0;
  }
}
