package dev.nodal.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.data.DataException;
import dev.nodal.data.Dataset;
import dev.nodal.data.FashionMnist;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.io.AtomicFiles;
import dev.nodal.ops.Conv2d;
import dev.nodal.ops.MatMul;
import dev.nodal.optim.Sgd;
import dev.nodal.tensor.CpuContext;
import dev.nodal.train.GptModel;
import dev.nodal.train.ModelZoo;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * Times a workload on one or more devices in one run, so that speed is reported as a ratio
 * against the first device measured alongside, with the minimum and median of several runs.
 */
@Command(name = "bench", description = "Times gemm (an N×N×N matrix product), mlp, mlp-small, mlp-large, cnn, cnn-bn or gpt "
    + "(a training step) or mlp-epoch (an epoch of Fashion-MNIST) on each device.")
final class BenchCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  /** The workloads: a product, or one SGD-momentum training step of a model. */
  private static final List<String> WORKLOADS = List.of("gemm", "mlp", "mlp-small", "mlp-large", "cnn", "cnn-bn", "gpt",
      "mlp-epoch");

  @Parameters(index = "0", description = "Workload: gemm; mlp (784-hidden-10 at --batch); mlp-small (784-1024-1024-10, "
      + "batch 256); mlp-large (784-4096-4096-10, batch 1024); cnn (the cnn model, batch 256); cnn-bn (the cnn-bn model, "
      + "batch norm after each convolution, batch 256); gpt (the byte-level GPT "
      + "preset of nodal train --model gpt, 32 windows of 64 bytes, an AdamW step with clipping); mlp-epoch (the default "
      + "MLP, 784-256-128-10, through one shuffled epoch of the 60,000 Fashion-MNIST training images at batch 128, "
      + "an operation being one epoch).")
  String workload;

  @Mixin SharedOptions.Data data;

  @Option(names = "--json", description = "Also write the results as JSON to this file.")
  Path json;

  private static final ObjectMapper JSON = new ObjectMapper();

  @Option(names = "--device", split = ",", defaultValue = "cpu", description = "Devices, comma separated; the first is the reference of the ratios.")
  List<String> devices;

  @Option(names = "--size", defaultValue = "1024", description = "gemm: N (default ${DEFAULT-VALUE}).")
  int size;

  @Option(names = "--batch", defaultValue = "128", description = "mlp: batch size (default ${DEFAULT-VALUE}; the other "
      + "models have theirs).")
  int batch;

  @Option(names = "--hidden", split = ",", defaultValue = "256,128", description = "mlp: hidden widths (default ${DEFAULT-VALUE}).")
  int[] hidden;

  @Option(names = "--conv", defaultValue = "auto", description = "cnn: the convolutions' OpenCL form, auto, direct or "
      + "im2col (default ${DEFAULT-VALUE}).")
  private String conv;

  @Option(names = "--repeats", defaultValue = "10", description = "Timed runs per device (default ${DEFAULT-VALUE}).")
  int repeats;

  @Option(names = "--inner", defaultValue = "5", description = "Operations per timed run (default ${DEFAULT-VALUE}).")
  int inner;

  @Override
  public Integer call() throws IOException {
    if (!WORKLOADS.contains(workload)) {
      throw new IllegalArgumentException("unknown workload '" + workload + "': use one of " + WORKLOADS);
    }
    if (repeats < 1) throw new IllegalArgumentException("--repeats must be at least 1, got " + repeats);
    if (inner < 1) throw new IllegalArgumentException("--inner must be at least 1, got " + inner);
    if (batch < 1) throw new IllegalArgumentException("--batch must be at least 1, got " + batch);
    for (int h : hidden) if (h < 1) throw new IllegalArgumentException("--hidden widths must be at least 1, got " + h);
    // Three N×N matrices of floats in Java arrays: N² must stay below the largest array.
    if (size < 1 || (long) size * size > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException("--size must be between 1 and 46340 (N² floats in one array), got " + size);
    }
    convForm();
    if (json != null) checkJson();
    Dataset train = null;
    if (workload.equals("mlp-epoch")) {
      try {
        train = FashionMnist.load(data.data, main.data).train();
      } catch (DataException e) {
        throw new IllegalArgumentException("mlp-epoch needs Fashion-MNIST: " + e.getMessage(), e);
      }
    }
    double reference = Double.NaN;
    String cpuKernel = new CpuContext(main.options.cpu()).kernel(); // what the run's CPU backends multiply with
    ArrayNode results = JSON.createArrayNode();
    for (int i = 0; i < devices.size(); i++) {
      String d = devices.get(i);
      try (Backend backend = Backends.open(d, main.options)) {
        int examples = switch (workload) {
          case "mlp-small", "cnn", "cnn-bn" -> 256;
          case "gpt" -> SharedOptions.GPT_STEP_BATCH;
          case "mlp-large" -> 1024;
          case "mlp-epoch" -> train.size();
          default -> batch;
        };
        double[] ms = switch (workload) {
          case "gemm" -> gemm(backend);
          case "mlp" -> step(backend, ModelZoo.mlp(1, 784, 10, hidden), examples);
          case "mlp-small" -> step(backend, ModelZoo.mlp(1, 784, 10, 1024, 1024), examples);
          case "mlp-large" -> step(backend, ModelZoo.mlp(1, 784, 10, 4096, 4096), examples);
          case "gpt" -> gptStep(backend, examples);
          case "mlp-epoch" -> epoch(backend, ModelZoo.mlp(1, 784, 10, 256, 128), train, 128);
          default -> step(backend, ModelZoo.cnn(1, 784, 10, workload.equals("cnn-bn"), convForm()), examples);
        };
        Arrays.sort(ms);
        double min = ms[0], median = ms[ms.length / 2];
        if (Double.isNaN(reference)) reference = median;
        String rate = workload.equals("gemm")
            ? String.format(java.util.Locale.ROOT, "%.1f GFLOP/s", 2.0 * size * size * size / (min * 1e-3) / 1e9)
            : workload.equals("gpt") ? String.format(java.util.Locale.ROOT, "%.0f tokens/s at batch %d × %d", (double) examples
                * GptModel.DEFAULT.context() / (min * 1e-3), examples, GptModel.DEFAULT.context())
            : workload.equals("mlp-epoch") ? String.format(java.util.Locale.ROOT, "%.0f samples/s at batch 128", examples / (min * 1e-3))
            : String.format(java.util.Locale.ROOT, "%.0f samples/s at batch %d", examples / (min * 1e-3), examples);
        double ratio = reference / median;
        String relative = i == 0 ? "the reference"
            : ratio >= 1 ? String.format(java.util.Locale.ROOT, "%.2f× faster than %s (medians)", ratio, devices.get(0))
            : String.format(java.util.Locale.ROOT, "%.2f× slower than %s (medians)", 1 / ratio, devices.get(0));
        System.out.printf(java.util.Locale.ROOT, "%s %s: min %.3f ms, median %.3f ms per op (%s at min); %s%n", workload, backend.name(), min,
            median, rate, relative);
        ObjectNode r = results.addObject();
        r.put("workload", workload);
        r.put("device", backend.name());
        if (workload.equals("gemm")) r.put("size", size);
        else if (workload.equals("mlp-epoch")) r.put("examples", examples).put("batch", 128);
        else r.put("batch", examples);
        if (workload.equals("gpt")) r.put("context", GptModel.DEFAULT.context());
        if (workload.equals("mlp")) {
          ArrayNode widths = r.putArray("hidden");
          for (int h : hidden) widths.add(h);
        }
        r.put("min_ms", min);
        r.put("median_ms", median);
        r.put("runs", ms.length);
        ArrayNode each = r.putArray("runs_ms"); // sorted: the spread that stragglers come from
        for (double m : ms) each.add(m);
        r.put("cpu_gemm", cpuKernel);
        if (workload.startsWith("cnn")) r.put("conv", conv);
        if (i > 0) r.put("speed_relative_to_first", ratio);
      }
    }
    if (json != null) {
      try {
        AtomicFiles.write(json, (JSON.writerWithDefaultPrettyPrinter().writeValueAsString(results)
            + System.lineSeparator()).getBytes(StandardCharsets.UTF_8));
      } catch (IOException e) {
        throw new IOException("--json " + json + ": " + e.getMessage(), e);
      }
      System.out.println("wrote " + json);
    }
    return 0;
  }

  /** Refuses, before anything is measured, a --json that cannot be written: its folder missing or read-only, or no file there. */
  private void checkJson() throws IOException {
    Path folder = json.toAbsolutePath().getParent();
    if (!Files.isDirectory(folder)) {
      throw new IllegalArgumentException("--json " + json + ": " + folder + (Files.exists(folder) ? " is not a folder"
          : " does not exist"));
    }
    if (!Files.isWritable(folder)) throw new IllegalArgumentException("--json " + json + ": the folder " + folder + " is not writable");
    try {
      AtomicFiles.checkReplaceable(json);
    } catch (IOException e) {
      throw new IOException("--json " + json + ": " + e.getMessage(), e);
    }
  }

  private Conv2d.Algorithm convForm() {
    return switch (conv) {
      case "auto" -> Conv2d.Algorithm.AUTO;
      case "direct" -> Conv2d.Algorithm.DIRECT;
      case "im2col" -> Conv2d.Algorithm.IM2COL;
      default -> throw new IllegalArgumentException("--conv must be auto, direct or im2col, got '" + conv + "'");
    };
  }

  private double[] gemm(Backend backend) {
    GraphBuilder g = new GraphBuilder(1);
    Param a = g.param("a", Init.uniform(-1, 1), size, size);
    Param b = g.param("b", Init.uniform(-1, 1), size, size);
    g.apply(new MatMul(), "c", a, b);
    Graph graph = g.build();
    try (Session s = backend.compile(graph, 1)) {
      return time(s, s::forward);
    }
  }

  /** One training step of {@code graph} (inputs "x" of 784 features and labels "y") at this batch. */
  private double[] step(Backend backend, Graph graph, int batch) {
    float[][] xy = SharedOptions.randomBatch(1, batch, 784, 10);
    try (Session s = backend.compile(graph, batch)) {
      s.setOptimizer(Sgd.builder().learningRate(0.01f).momentum(0.9f).build());
      return time(s, () -> {
        s.setInput((Input) graph.node("x"), xy[0]);
        s.setInput((Input) graph.node("y"), xy[1]);
        s.trainStep();
      });
    }
  }

  /**
   * One training step of {@link GptModel#DEFAULT} on seeded random bytes: forward, backward and the
   * update of {@link SharedOptions#gptAdamW}.
   */
  private double[] gptStep(Backend backend, int batch) {
    GptModel model = GptModel.DEFAULT;
    Graph graph = model.build(42);
    SplittableRandom r = new SplittableRandom(1);
    float[] ids = new float[batch * model.context()], targets = new float[ids.length];
    for (int i = 0; i < ids.length; i++) ids[i] = r.nextInt(GptModel.VOCAB);
    for (int i = 0; i < ids.length; i++) targets[i] = r.nextInt(GptModel.VOCAB);
    try (Session s = backend.compile(graph, batch)) {
      s.setOptimizer(SharedOptions.gptAdamW());
      return time(s, () -> {
        s.setInput((Input) graph.node("x"), ids);
        s.setInput((Input) graph.node("y"), targets);
        s.trainStep();
      });
    }
  }

  /**
   * Epochs of SGD-momentum steps (learning rate 0.05, as {@code nodal train}) over {@code train},
   * shuffled anew each epoch, batches of {@code batch} and a smaller last one.
   */
  private double[] epoch(Backend backend, Graph graph, Dataset train, int batch) {
    Input x = (Input) graph.node("x"), y = (Input) graph.node("y");
    try (Session s = backend.compile(graph, batch); BatchLoader loader = new BatchLoader(train, batch, true, 1)) {
      s.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
      int[] epoch = {0};
      return time(s, () -> {
        for (Iterator<BatchLoader.Batch> it = loader.epoch(epoch[0]++); it.hasNext(); ) {
          BatchLoader.Batch b = it.next();
          s.setInput(x, b.features());
          s.setInput(y, b.labels());
          s.trainStep();
        }
      });
    }
  }

  /**
   * Warm-up lasts at least this long, and two runs: the JIT compiles the products' inner loops
   * after thousands of calls, which a small product's two runs do not reach (at N = 256 they
   * left the timed runs 30% slower than the steady state).
   */
  static final long WARM_UP_NANOS = 1_000_000_000L;

  /** Milliseconds per operation of each timed run, after the warm-up ({@link #WARM_UP_NANOS}); progress on stderr. */
  private double[] time(Session s, Runnable op) {
    List<Double> runs = new ArrayList<>();
    long warmUpEnd = System.nanoTime() + WARM_UP_NANOS;
    for (int warm = 0; warm < 2 || System.nanoTime() < warmUpEnd; warm++) {
      if (System.console() != null) System.err.printf(java.util.Locale.ROOT, "\r%s: warm-up %d ", workload, warm + 1);
      for (int i = 0; i < inner; i++) op.run();
      s.sync();
    }
    for (int rep = 0; rep < repeats; rep++) {
      if (System.console() != null) {
        System.err.printf(java.util.Locale.ROOT, "\r%s: run %d of %d ", workload, rep + 1, repeats);
      }
      s.sync();
      long t0 = System.nanoTime();
      for (int i = 0; i < inner; i++) op.run();
      s.sync();
      runs.add((System.nanoTime() - t0) / 1e6 / inner);
    }
    if (System.console() != null) System.err.print("\r" + " ".repeat(40) + "\r");
    return runs.stream().mapToDouble(Double::doubleValue).toArray();
  }
}
