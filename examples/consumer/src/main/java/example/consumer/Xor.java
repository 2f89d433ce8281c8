package example.consumer;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.io.Checkpoint;
import dev.nodal.ops.Layers;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.optim.Sgd;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * XOR with Nodal's public API: build a graph, train it on the best device present, save a
 * checkpoint, load it into a fresh session and predict. {@code main} takes the checkpoint folder
 * (a temporary one when left out) and exits with 1 when a prediction is wrong.
 */
public final class Xor {
  private Xor() {}

  static final float[] FEATURES = {0, 0, 0, 1, 1, 0, 1, 1};
  static final float[] LABELS = {0, 1, 1, 0};

  /** Trains, saves into {@code checkpoint}, reloads; returns the predicted class of each example. */
  public static int[] trainSaveLoadPredict(Path checkpoint, String device) throws IOException {
    GraphBuilder g = new GraphBuilder(7);
    Input x = g.input("x", 2);
    Input y = g.labels("y", 2);
    Node h = g.apply(new Tanh(), "h", Layers.dense(g, "fc1", x, 8, Init.xavier()));
    Node logits = Layers.dense(g, "fc2", h, 2, Init.xavier());
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));

    try (Backend backend = Backends.open(device)) {
      try (Session s = backend.compile(graph, CompileOptions.maxBatch(4))) {
        s.setOptimizer(Sgd.builder().learningRate(0.5f).momentum(0.9f).build());
        float loss = Float.NaN;
        for (int step = 0; step < 500; step++) {
          s.setInput(x, FEATURES);
          s.setInput(y, LABELS);
          loss = s.trainStep();
        }
        System.out.printf("trained on %s: loss %.5f%n", backend.name(), loss);
        Checkpoint.save(checkpoint, graph, 7, s);
      }

      Checkpoint.Loaded loaded = Checkpoint.load(checkpoint);
      Graph restored = loaded.graph();
      try (Session s = backend.compile(restored, CompileOptions.maxBatch(4).keep("fc2"))) {
        loaded.restore(s, false);
        s.setInput((Input) restored.node("x"), FEATURES);
        s.setInput((Input) restored.node("y"), LABELS);
        s.forward();
        float[] scores = s.value(restored.node("fc2"));
        int[] predicted = new int[LABELS.length];
        for (int i = 0; i < predicted.length; i++) predicted[i] = scores[2 * i + 1] > scores[2 * i] ? 1 : 0;
        return predicted;
      }
    }
  }

  public static void main(String[] args) throws IOException {
    Path folder = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("xor").resolve("checkpoint");
    int[] predicted = trainSaveLoadPredict(folder, "auto");
    boolean right = true;
    for (int i = 0; i < predicted.length; i++) {
      System.out.printf("%d xor %d -> %d%n", (int) FEATURES[2 * i], (int) FEATURES[2 * i + 1], predicted[i]);
      right &= predicted[i] == (int) LABELS[i];
    }
    System.out.println("checkpoint: " + folder);
    if (!right) System.exit(1);
  }
}
