package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.optim.Sgd;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.plan.Keep;
import dev.nodal.plan.Planner;
import dev.nodal.train.ModelZoo;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "plan",
    description = "Prints a model's step plan: the launches per step by phase, and device memory with and without sharing.")
final class PlanCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Option(names = "--model", defaultValue = "mlp", description = SharedOptions.MODEL_HELP)
  String model;

  @Option(names = "--batch-size", defaultValue = "128", description = "Examples per step (default ${DEFAULT-VALUE}).")
  int batchSize;

  @Mixin SharedOptions.Device device;

  @Override
  public Integer call() {
    if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
    Graph graph = ModelZoo.build(model, 42, 784, 10);
    try (Backend backend = Backends.open(device.device, main.options)) {
      Planner planner = new Planner(graph, batchSize, new Keep(false, Set.of()), backend.traits());
      System.out.println("plan of " + model + " for " + backend.name() + ", batch " + batchSize + ", SGD with momentum"
          + (backend.traits() == DeviceTraits.CPU ? " (the CPU backend runs each op's Java code in this order over this "
          + "memory; the launches are what an OpenCL device would run)" : "") + ":");
      System.out.print(planner.plan().format(planner.steps(batchSize), planner.update(Sgd.builder().learningRate(0.05f).momentum(0.9f).build())));
    }
    return 0;
  }
}
