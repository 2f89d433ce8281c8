package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.data.FashionMnist;
import dev.nodal.io.Checkpoint;
import dev.nodal.train.Evaluation;
import dev.nodal.train.GptModel;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "eval", description = "Rebuilds a model from its checkpoint alone and prints test loss and accuracy.")
final class EvalCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Option(names = "--checkpoint", required = true, description = "A run folder or its checkpoint/ folder.")
  Path checkpoint;

  @Mixin SharedOptions.Device device;

  @Mixin SharedOptions.Data data;

  @Option(names = "--batch-size", defaultValue = "500", description = "Examples per forward pass (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Override
  public Integer call() throws Exception {
    Backends.checkSelector(device.device);
    if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    Checkpoint.Loaded loaded = Checkpoint.load(checkpoint);
    if (loaded.trainer() != null && loaded.trainer().settings().model().equals(GptModel.NAME)) {
      throw new IllegalArgumentException("--checkpoint " + checkpoint + " holds a gpt model; eval measures Fashion-MNIST "
          + "classifiers (the run's metrics.csv has the gpt's validation loss)");
    }
    FashionMnist.Splits splits = FashionMnist.load(data.data, main.data);
    try (Backend backend = Backends.open(device.device, main.options);
        Session s = backend.compile(loaded.graph(),
            CompileOptions.maxBatch(batchSize).keep(Evaluation.logits(loaded.graph()).name()))) {
      loaded.restore(s, false);
      Evaluation ev = Evaluation.of(s, splits.test());
      System.out.printf(Locale.ROOT, "test loss %.4f accuracy %.4f (%d examples, %s, checkpoint %s)%n", ev.loss(), ev.accuracy(),
          ev.examples(), backend.name(), loaded.folder());
    }
    return 0;
  }
}
