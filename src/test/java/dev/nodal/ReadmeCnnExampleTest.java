package dev.nodal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.data.Dataset;
import dev.nodal.data.FashionMnist;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.io.GraphFile;
import dev.nodal.ops.Add;
import dev.nodal.ops.GlobalAvgPool2d;
import dev.nodal.ops.Layers;
import dev.nodal.ops.Pool2d;
import dev.nodal.ops.Relu;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.optim.Schedule;
import dev.nodal.optim.Sgd;
import dev.nodal.train.Evaluation;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The CNN example of README.md, as written there: a residual block (fan-out of {@code h} into a
 * convolution and an Add), batch norm and global average pooling, trained on the repository's
 * small Fashion-MNIST subset on the CPU; then the graph file that a checkpoint holds describes it
 * all.
 */
class ReadmeCnnExampleTest {

  @Test
  void theReadmeCnnTrainsAndItsGraphFileDescribesIt() throws Exception {
    FashionMnist.Splits data = FashionMnist.read(Path.of("src/test/resources/fashion-mnist-small"));
    Dataset train = data.train();

    GraphBuilder g = new GraphBuilder(7);
    Input x = g.input("x", 1, 28, 28);                                 // NCHW images, shape [N, 1, 28, 28]
    Input y = g.labels("y", 10);
    Node h = g.apply(new Relu(), "stem", Layers.conv2d(g, "conv0", x, 16, 3, 1, Init.he()));
    h = g.apply(Pool2d.max(2, 2, 0), "pool0", h);                      // [N, 16, 14, 14]
    // A residual block: two convolutions whose output is added to the block's input.
    Node r = Layers.batchNorm(g, "bn1", Layers.conv2d(g, "conv1", h, 16, 3, 1, Init.he()));
    r = Layers.batchNorm(g, "bn2", Layers.conv2d(g, "conv2", g.apply(new Relu(), "r1", r), 16, 3, 1, Init.he()));
    h = g.apply(new Relu(), "block", g.apply(new Add(), "sum", h, r)); // h feeds conv1 and the sum
    Node logits = Layers.dense(g, "fc", g.apply(new GlobalAvgPool2d(), "gap", h), 10, Init.xavier());
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));

    float first = Float.NaN, last = Float.NaN;
    Evaluation test;
    try (Backend backend = Backends.open("cpu");
         Session s = backend.compile(graph, CompileOptions.maxBatch(50).keep("fc"))) {
      try (BatchLoader loader = new BatchLoader(train, 50, true, 7)) {
        // A decaying rate, a cosine over the 10 epochs, lets the weights settle, so that the
        // running statistics fit them.
        s.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build()
            .schedule(new Schedule("cosine", Map.of()), 10L * loader.batchesPerEpoch()));
        for (int epoch = 0; epoch < 10; epoch++) {
          double sum = 0;
          int batches = 0;
          for (Iterator<BatchLoader.Batch> it = loader.epoch(epoch); it.hasNext(); batches++) {
            BatchLoader.Batch b = it.next();
            s.setInput(x, b.features());                               // 784 floats per image
            s.setInput(y, b.labels());
            sum += s.trainStep();                                      // training mode: batch statistics
          }
          if (epoch == 0) first = (float) (sum / batches);
          last = (float) (sum / batches);
        }
      }
      test = Evaluation.of(s, data.test());                            // evaluation mode: running statistics
    }
    assertTrue(last < 0.6f * first, "mean training loss " + first + " in epoch 1, " + last + " in epoch 10");
    assertTrue(test.accuracy() > 0.6, "test accuracy " + test.accuracy() + " on " + test.examples() + " images");

    Graph read = GraphFile.read(GraphFile.write(graph, 7), "graph.json");
    assertEquals(GraphFile.write(graph, 7), GraphFile.write(read, 7), "the graph file describes the whole network");
    assertEquals(4, read.states().size(), "the running statistics of bn1 and bn2");
  }
}
