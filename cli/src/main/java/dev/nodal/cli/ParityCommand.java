package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.backend.Parity;
import dev.nodal.graph.Graph;
import dev.nodal.train.ModelZoo;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Option;

@Command(name = "parity", description = "Runs a model on two devices and reports, per node, how far outputs and gradients differ.")
final class ParityCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Option(names = "--model", defaultValue = "mlp", description = SharedOptions.MODEL_HELP)
  String model;

  @Option(names = "--device", defaultValue = "opencl", description = "Device under test (default ${DEFAULT-VALUE}).")
  String device;

  @Option(names = "--reference", defaultValue = "cpu", description = "Reference device (default ${DEFAULT-VALUE}).")
  String reference;

  @Option(names = "--batch", defaultValue = "64", description = "Examples in the batch (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--seed", defaultValue = "1", description = "Seed of the weights and the random batch.")
  long seed;

  @Override
  public Integer call() {
    if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
    if ((long) batch * 784 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("--batch " + batch + " is too large: a batch of 784-pixel images must fit one "
          + "buffer of 2^31 - 1 floats");
    }
    Backends.checkSelector(device);
    Backends.checkSelector(reference);
    Graph g = ModelZoo.build(model, seed, 784, 10);
    float[][] xy = SharedOptions.randomBatch(seed, batch, 784, 10);
    try (Backend test = Backends.open(device, main.options); Backend ref = Backends.open(reference, main.options)) {
      Parity.Report report = Parity.compare(g, test, ref, Map.of("x", xy[0], "y", xy[1]));
      System.out.print(report.format());
      return report.ok() ? 0 : 1;
    }
  }
}
