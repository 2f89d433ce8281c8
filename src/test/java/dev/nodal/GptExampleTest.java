package dev.nodal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Parity;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.io.GraphFile;
import dev.nodal.ops.Add;
import dev.nodal.ops.Embedding;
import dev.nodal.ops.Layers;
import dev.nodal.ops.MatMul;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.optim.Adam;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * A tiny byte-level GPT built through the public API, as the README shows it: token embedding,
 * learned positions, two pre-norm transformer blocks, a final layer norm and an output projection
 * tied to the token embedding. It learns a short English text on the CPU, and one training step
 * on OpenCL matches the CPU's.
 */
class GptExampleTest {
  static final int VOCAB = 256, T = 32, C = 32, HEADS = 2, BATCH = 8;

  static final byte[] TEXT = ("""
      The river ran slowly past the old mill, and the miller sat on the bench by the door to watch it.
      Every morning he opened the gate, and the water turned the wheel, and the wheel turned the stone,
      and the stone ground the grain into flour. In the evening he closed the gate again, swept the floor,
      and counted the sacks that stood along the wall. The children of the village came to the mill
      after school to watch the wheel go round. They liked the sound of the water and the smell of the
      flour, and they liked the miller, who told them stories about the river. He said that the river
      had been there before the village and would be there after it, that it had carried boats and logs
      and once, in a hard winter, a whole bridge of ice. He said that a river never runs the same way
      twice, and that a wise man learns to listen to it. The children did not always believe him, but
      they listened all the same, and when they grew up they told the same stories to their own children.
      In the spring the water rose high and fast, and the miller had to watch the gate all day and all
      night. In the summer the water was low, and the wheel turned slowly, and the miller had time to
      mend the roof and paint the door. In the autumn the farmers brought their grain in carts, and the
      mill worked from dawn to dark. In the winter the river froze at the edges, and the miller kept a
      fire burning in the stove, and the children came to sit by it and hear one more story.
      """).getBytes(StandardCharsets.US_ASCII);

  /** The model: ids and targets {@code [N, T]}, the loss, and the logits {@code [N, T, 256]}. */
  record Gpt(Graph graph, Input ids, Input targets, Node logits) {}

  static Gpt build() {
    GraphBuilder g = new GraphBuilder(7);
    Input ids = g.labels("ids", VOCAB, T);                       // token ids, shape [N, T]
    Input targets = g.labels("targets", VOCAB, T);               // the next byte at each position
    Param wte = g.param("wte", Init.normal(0f, 0.02f), VOCAB, C); // token embedding [256, C]
    Param wpe = g.param("wpe", Init.normal(0f, 0.01f), T, C);     // learned positions [T, C]
    Node h = g.apply(new Add(), "h0", g.apply(new Embedding(), "tok", wte, ids), wpe); // [N, T, C]
    for (int b = 0; b < 2; b++) h = Layers.transformerBlock(g, "block" + b, h, HEADS, true);
    h = Layers.layerNorm(g, "ln_f", h, C);
    Node logits = g.apply(new MatMul(false, true), "logits", h, wte); // tied: h · wteᵀ, [N, T, 256]
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, targets));
    return new Gpt(graph, ids, targets, logits);
  }

  /** Windows of T + 1 bytes at random offsets: ids are the first T, targets the last T. */
  static void nextBatch(Random random, int[] ids, int[] targets) {
    for (int n = 0; n < BATCH; n++) {
      int start = random.nextInt(TEXT.length - T - 1);
      for (int t = 0; t < T; t++) {
        ids[n * T + t] = TEXT[start + t] & 0xff;
        targets[n * T + t] = TEXT[start + t + 1] & 0xff;
      }
    }
  }

  @Test
  void aTinyGptLearnsEnglishText() {
    Gpt gpt = build();
    int[] ids = new int[BATCH * T], targets = new int[BATCH * T];
    Random random = new Random(1);
    float first = Float.NaN, recent = 0;
    int steps = 300, averaged = 20;
    try (Backend backend = Backends.open("cpu");
        Session s = backend.compile(gpt.graph(), CompileOptions.maxBatch(BATCH))) {
      s.setOptimizer(Adam.adamW().learningRate(3e-3f).weightDecay(0.01f).build());
      for (int step = 0; step < steps; step++) {
        nextBatch(random, ids, targets);
        s.setLabels(gpt.ids(), ids);
        s.setLabels(gpt.targets(), targets);
        float loss = s.trainStep();
        if (step == 0) first = loss;
        if (step >= steps - averaged) recent += loss / averaged;
      }
    }
    assertEquals(Math.log(VOCAB), first, 0.1, "an untrained model is close to uniform over bytes");
    assertTrue(recent < 2.2f, "mean loss of the last " + averaged + " steps: " + recent + " (uniform: 5.55)");
  }

  /** The model's graph file reads back to the same graph: token ids and targets keep their [N, T]. */
  @Test
  void theGraphFileReadsBackTheSame() {
    String json = GraphFile.write(build().graph(), 7);
    Graph read = GraphFile.read(json, "gpt");
    assertEquals(Shape.batchOf(T), read.node("targets").shape());
    assertEquals(json, GraphFile.write(read, 7));
  }

  /**
   * Every node's value and gradient of one step on OpenCL within the parity tolerance of the CPU's,
   * and the loss after one AdamW update alike.
   */
  @Test
  void oneTrainingStepOnOpenClMatchesTheCpu() {
    Gpt gpt = build();
    int[] ids = new int[BATCH * T], targets = new int[BATCH * T];
    nextBatch(new Random(2), ids, targets);
    Map<String, float[]> inputs = new HashMap<>();
    inputs.put("ids", floats(ids));
    inputs.put("targets", floats(targets));
    try (Backend cpu = OpenClTests.named("cpu"); Backend device = OpenClTests.named("opencl")) {
      Parity.Report r = Parity.compare(gpt.graph(), device, cpu, inputs);
      assertTrue(r.ok(), r.format());
      float[] after = new float[2];
      Backend[] backends = {cpu, device};
      for (int i = 0; i < 2; i++) {
        try (Session s = backends[i].compile(gpt.graph(), CompileOptions.maxBatch(BATCH))) {
          s.setOptimizer(Adam.adamW().learningRate(3e-3f).weightDecay(0.01f).build());
          s.setLabels(gpt.ids(), ids);
          s.setLabels(gpt.targets(), targets);
          s.trainStep();
          s.forward();
          after[i] = s.loss();
        }
      }
      assertEquals(after[0], after[1], 1e-3, "loss after one AdamW step on " + device.name() + " and " + cpu.name());
    }
  }

  private static float[] floats(int[] v) {
    float[] f = new float[v.length];
    for (int i = 0; i < v.length; i++) f[i] = v[i];
    return f;
  }
}
