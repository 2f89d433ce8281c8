package dev.nodal.cli;

import dev.nodal.train.ModelZoo;
import java.nio.file.Path;
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
