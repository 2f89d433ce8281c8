package dev.nodal.cli;

import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Optimizers;
import dev.nodal.train.GptModel;
import dev.nodal.train.ModelZoo;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import picocli.CommandLine.Option;

/** Options and inputs that several commands share. */
final class SharedOptions {
  private SharedOptions() {}

  /** The help of a {@code --model} option over {@link ModelZoo}'s models, mlp by default. */
  static final String MODEL_HELP = "Model: mlp (default), cnn or cnn-bn. " + ModelZoo.DESCRIPTIONS + ".";

  /** {@code --device}: where the command runs. */
  static final class Device {
    @Option(names = "--device", defaultValue = "auto", description = "auto, cpu, opencl, opencl:P:D, or a backend provider's name (default ${DEFAULT-VALUE}).")
    String device;
  }

  /** The sizes of {@code --model gpt}: each option left out takes {@link GptModel#DEFAULT}'s. */
  static final class GptSizes {
    /** The options' names, to tell whether any was given. */
    static final List<String> NAMES = List.of("--context", "--layers", "--heads", "--width", "--dropout");

    @Option(names = "--context", description = "gpt: bytes of context (default 64).")
    Integer context;

    @Option(names = "--layers", description = "gpt: transformer blocks (default 4).")
    Integer layers;

    @Option(names = "--heads", description = "gpt: attention heads per block (default 4).")
    Integer heads;

    @Option(names = "--width", description = "gpt: embedding width, a multiple of --heads (default 128).")
    Integer width;

    @Option(names = "--dropout", description = "gpt: dropout probability in training (default 0).")
    Float dropout;

    /** The model these options ask for, with the preset's sizes for the rest; refuses sizes that do not fit. */
    GptModel model() {
      GptModel d = GptModel.DEFAULT;
      return new GptModel(context != null ? context : d.context(), layers != null ? layers : d.layers(),
          heads != null ? heads : d.heads(), width != null ? width : d.width(), dropout != null ? dropout : d.dropout());
    }
  }

  /**
   * The hyper-parameters {@code nodal train --model gpt} gives its optimizer unless told otherwise:
   * learning rate 0.003, gradients clipped to norm 1 and (AdamW only) weight decay 0.1.
   */
  /** Windows per step of {@code nodal train --model gpt} unless --batch-size says otherwise. */
  static final int GPT_TRAIN_BATCH = 16;

  /** Windows per step that {@code bench gpt} times and {@code plan --model gpt} plans, as {@code bench/torch_gpt.py step} does. */
  static final int GPT_STEP_BATCH = 32;

  static final Map<String, Object> GPT_DEFAULTS = Map.of("lr", 0.003f, "clip_norm", 1f, "weight_decay", 0.1f);

  /** The optimizer {@code nodal train --model gpt} trains with by default: AdamW with {@link #GPT_DEFAULTS}. */
  static Optimizer gptAdamW() {
    return Optimizers.spec("adamw", GPT_DEFAULTS).make();
  }

  /** {@code --data}: a folder searched first for the data set. */
  static final class Data {
    @Option(names = "--data", description = "Folder holding the four Fashion-MNIST files (searched first).")
    Path data;
  }

  /** A seeded batch of {@code n} random images (pixels in [0, 1)) and class labels. */
  static float[][] randomBatch(long seed, int n, int features, int classes) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] x = new float[n * features];
    float[] y = new float[n];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
    for (int i = 0; i < y.length; i++) y[i] = r.nextInt(classes);
    return new float[][] {x, y};
  }
}
