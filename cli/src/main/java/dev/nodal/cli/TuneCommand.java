package dev.nodal.cli;

import dev.nodal.backend.Backend;
import dev.nodal.backend.opencl.GemmConfig;
import dev.nodal.backend.opencl.GemmTuner;
import dev.nodal.backend.opencl.OpenClBackend;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.io.AtomicFiles;
import dev.nodal.train.ModelZoo;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * Measures gemm.cl's tilings on an OpenCL device for the products of a model's training step,
 * and keeps the fastest per shape class in the tuning cache, which the device's later sessions
 * read.
 */
@Command(name = "tune", description = "Measures gemm.cl's tilings on an OpenCL device for a model's products and keeps the "
    + "fastest per shape class for that device and driver.")
final class TuneCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Mixin SharedOptions.Device device;

  @Option(names = "--model", defaultValue = "mlp", description = "Whose products to tune: " + "mlp, cnn, cnn-bn, mlp-small "
      + "(784-1024-1024-10) or mlp-large (784-4096-4096-10) (default ${DEFAULT-VALUE}).")
  String model;

  @Option(names = "--batch-size", defaultValue = "128", description = "Examples per step (default ${DEFAULT-VALUE}).")
  int batch;

  @Option(names = "--repeats", defaultValue = "3", description = "Timed launches per tiling, the fastest kept (default ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--max-candidates", description = "Try at most this many tilings besides the default (all by default), "
      + "before the fastest are tried with vector loads and double buffering.")
  Integer maxCandidates;

  @Option(names = "--cache", description = "The tuning cache to update (default $NODAL_CACHE_DIR/gemm-tuning.json, else "
      + "~/.cache/nodal/gemm-tuning.json, where the device's sessions read it).")
  Path cache;

  @Override
  public Integer call() throws Exception {
    if (batch < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batch);
    if (repeats < 1) throw new IllegalArgumentException("--repeats must be at least 1, got " + repeats);
    if (maxCandidates != null && maxCandidates < 0) {
      throw new IllegalArgumentException("--max-candidates must be at least 0, got " + maxCandidates);
    }
    Graph graph = switch (model) {
      case "mlp-small" -> ModelZoo.mlp(1, 784, 10, 1024, 1024);
      case "mlp-large" -> ModelZoo.mlp(1, 784, 10, 4096, 4096);
      default -> {
        if (!List.of(ModelZoo.NAMES).contains(model)) {
          throw new IllegalArgumentException("--model " + model + ": unknown; known: " + String.join(", ", ModelZoo.NAMES)
              + ", mlp-small, mlp-large");
        }
        yield ModelZoo.build(model, 1, 784, 10);
      }
    };
    Path file = cache != null ? cache : main.options.openCl().tuningCache();
    AtomicFiles.checkReplaceable(file); // a cache that cannot be written is refused before any device is opened
    try (Backend backend = Backends.open(device.device, main.options)) {
      if (!(backend instanceof OpenClBackend cl)) {
        throw new IllegalArgumentException("tune measures OpenCL devices; --device " + device.device + " chose " + backend.name());
      }
      // Read before measuring: what cannot be used is said now, and replaced by this run's results.
      List<String> unusable = GemmTuner.read(file, cl.device()).problems();
      for (String problem : unusable) System.out.println(problem + "; this run's results replace it");
      List<GemmTuner.Shape> shapes = GemmTuner.products(graph, batch, cl.traits());
      List<GemmConfig> candidates = GemmConfig.searchSpace(cl.gemm());
      if (maxCandidates != null) candidates = candidates.subList(0, Math.min(maxCandidates, candidates.size()));
      System.out.printf(Locale.ROOT, "Tuning %d shape classes of %s at batch %d on %s: %d tilings each and the default tiles, then "
          + "the fastest %d with vector loads and double buffering%n", shapes.size(), model, batch, cl.name(),
          candidates.size(), GemmTuner.REFINED);
      List<GemmTuner.Result> results = GemmTuner.tune(cl, shapes, candidates, repeats);
      System.out.printf(Locale.ROOT, "%-22s %-16s %10s %-16s %10s %8s%n", "shape class", "default tiles", "ms", "best tiles", "ms", "speed-up");
      for (GemmTuner.Result r : results) {
        System.out.printf(Locale.ROOT, "%-22s %-16s %10.3f %-16s %10.3f %7.2fx%n", r.shape().shapeClass(), r.defaults().text(), r.defaultMs(),
            r.best().text(), r.bestMs(), r.defaultMs() / r.bestMs());
      }
      // Read again, to keep what another run may have written meanwhile.
      AtomicFiles.write(file, GemmTuner.withResults(GemmTuner.read(file, cl.device()), cl.device(), results));
      System.out.println("wrote " + file + (unusable.isEmpty() ? "" : ", replacing what it held that could not be used")
          + " (read by this device's next sessions)");
    }
    return 0;
  }
}
