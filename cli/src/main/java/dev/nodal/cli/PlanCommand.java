package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Sgd;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.plan.Keep;
import dev.nodal.plan.Planner;
import dev.nodal.train.GptModel;
import dev.nodal.train.ModelZoo;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "plan",
    description = "Prints a model's step plan: the launches per step by phase, and device memory with and without sharing.")
final class PlanCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Option(names = "--model", defaultValue = "mlp", description = "Model: mlp (default), cnn, cnn-bn or gpt. "
      + ModelZoo.DESCRIPTIONS + "; gpt: the byte-level GPT of nodal train --model gpt, sized by --context, --layers, "
      + "--heads, --width and --dropout.")
  String model;

  @Option(names = "--batch-size", description = "Examples per step (default 128; gpt: 32 windows of --context bytes).")
  Integer batchSize;

  @Mixin SharedOptions.GptSizes gptSizes;

  @Mixin SharedOptions.Device device;

  @Spec CommandSpec spec;

  /**
   * The plan of the model as {@code nodal train} trains it: a classifier with SGD and momentum,
   * gpt with AdamW (its update launches differ).
   */
  @Override
  public Integer call() {
    boolean gpt = model.equals(GptModel.NAME);
    if (!gpt && !List.of(ModelZoo.NAMES).contains(model)) {
      throw new IllegalArgumentException("--model " + model + ": unknown; known: " + String.join(", ", ModelZoo.NAMES)
          + ", " + GptModel.NAME);
    }
    if (!gpt) {
      for (String o : SharedOptions.GptSizes.NAMES) {
        if (spec.commandLine().getParseResult().hasMatchedOption(o)) {
          throw new IllegalArgumentException(o + " applies to --model gpt only, not " + model);
        }
      }
    }
    int batch = batchSize != null ? batchSize : gpt ? SharedOptions.GPT_STEP_BATCH : 128;
    if (batch < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batch);
    GptModel sizes = gpt ? gptSizes.model() : null;
    Graph graph = gpt ? sizes.build(42) : ModelZoo.build(model, 42, 784, 10);
    Optimizer optimizer = gpt ? SharedOptions.gptAdamW() : Sgd.builder().learningRate(0.05f).momentum(0.9f).build();
    try (Backend backend = Backends.open(device.device, main.options)) {
      Planner planner = new Planner(graph, batch, new Keep(false, Set.of()), backend.traits());
      System.out.println("plan of " + (gpt ? sizes : model) + " for " + backend.name() + ", batch " + batch
          + (gpt ? ", AdamW with clipping" : ", SGD with momentum")
          + (backend.traits() == DeviceTraits.CPU ? " (the CPU backend runs each op's Java code in this order over this "
          + "memory; the launches are what an OpenCL device would run)" : "") + ":");
      System.out.print(planner.plan().format(planner.steps(batch), planner.update(optimizer)));
    }
    return 0;
  }
}
