package example.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.GradientCheck;
import dev.nodal.backend.Parity;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.GraphFile;
import dev.nodal.ops.Layers;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.optim.Sgd;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node type of a user's own (Swish, registered through ServiceLoader from outside Nodal's
 * packages): Nodal's test kit checks its gradient and its parity, and a checkpoint of a model
 * that uses it saves and loads.
 */
class UserOpTest {
  @TempDir Path dir;

  static Graph model(float beta) {
    GraphBuilder g = new GraphBuilder(11);
    Input x = g.input("x", 2);
    Input y = g.labels("y", 2);
    Node h = g.apply(new Swish(beta), "h", Layers.dense(g, "fc1", x, 16, Init.he()));
    Node logits = Layers.dense(g, "fc2", h, 2, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }

  @Test
  void theTestKitChecksItsGradient() {
    GradientCheck.op(new Swish(1f), 3, new int[] {1, 1}).assertPassed("swish 1x1");
    GradientCheck.op(new Swish(1.7f), 5, new int[] {5, 7}).assertPassed("swish 5x7");
    // The kit bites: a backward that forgets the chain rule's second term fails.
    Op broken = new Swish(1f) {
      @Override
      public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
        for (int i = 0; i < out.size(); i++) dIn[0].data[i] += dOut.data[i] / (1 + (float) Math.exp(-in[0].data[i]));
      }
    };
    assertTrue(!GradientCheck.op(broken, 5, new int[] {5, 7}).passed(), "a wrong backward passes the check");
  }

  @Test
  void aCheckpointHoldsItAndLoadsItBack() throws Exception {
    Graph graph = model(1.5f);
    Models.Spiral data = Models.Spiral.make(20, 4);
    float[] before;
    Path checkpoint = dir.resolve("checkpoint");
    try (Session s = Backends.cpu().compile(graph, CompileOptions.maxBatch(data.size()).keep("fc2"))) {
      s.setOptimizer(Sgd.builder().learningRate(0.1f).momentum(0.9f).build());
      for (int i = 0; i < 50; i++) {
        s.setInput((Input) graph.node("x"), data.features());
        s.setInput((Input) graph.node("y"), data.labels());
        s.trainStep();
      }
      s.forward();
      before = s.value(graph.node("fc2"));
      Checkpoint.save(checkpoint, graph, 11, s);
    }
    assertTrue(GraphFile.write(graph, 11, null).contains("\"swish\""), "the graph file names the node type");

    Checkpoint.Loaded loaded = Checkpoint.load(checkpoint);
    Op op = ((dev.nodal.graph.Apply) loaded.graph().node("h")).op();
    assertEquals(Swish.class, op.getClass());
    assertEquals(Map.of("beta", 1.5), op.attributes());
    try (Session s = Backends.cpu().compile(loaded.graph(), CompileOptions.maxBatch(data.size()).keep("fc2"))) {
      loaded.restore(s, false);
      s.setInput((Input) loaded.graph().node("x"), data.features());
      s.setInput((Input) loaded.graph().node("y"), data.labels());
      s.setTraining(true);
      s.forward();
      assertArrayEquals(before, s.value(loaded.graph().node("fc2")), "scores of the reloaded model");
    }
  }

  @Test
  void aGraphFileRefusesItsMisspeltAttribute() {
    String file = GraphFile.write(model(2f), 11, null).replace("\"beta\"", "\"betta\"");
    GraphException e = assertThrows(GraphException.class, () -> GraphFile.read(file, "graph.json"));
    assertTrue(e.getMessage().contains("swish: unknown attribute 'betta'"), e.getMessage());
  }

  @Test
  void itsKernelsMatchItsCpuCode() {
    Graph graph = model(1.25f);
    Models.Spiral data = Models.Spiral.make(40, 6);
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu()) {
      Parity.Report r = Parity.compare(graph, device, cpu, Map.of("x", data.features(), "y", data.labels()));
      assertTrue(r.ok(), r.format());
    }
  }

  @Test
  void anOpWithoutKernelsRunsOnTheCpuAndIsRefusedOnADeviceByName() {
    Op cpuOnly = new Op() {
      @Override
      public String kind() {
        return "square";
      }

      @Override
      public List<String> inputRoles() {
        return List.of("x");
      }

      @Override
      public Shape inferShape(ShapeContext c) {
        return c.in(0);
      }

      @Override
      public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
        for (int i = 0; i < out.size(); i++) out.data[i] = in[0].data[i] * in[0].data[i];
      }

      @Override
      public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
        for (int i = 0; i < out.size(); i++) dIn[0].data[i] += 2 * in[0].data[i] * dOut.data[i];
      }
    };
    GradientCheck.op(cpuOnly, 1, new int[] {3, 4}).assertPassed("square");
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Input y = g.labels("y", 3);
    Node sq = g.apply(cpuOnly, "sq", Layers.dense(g, "fc", x, 3, Init.he()));
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", sq, y));
    try (Session s = Backends.cpu().compile(graph, 4)) {
      s.setInput(x, new float[12]);
      s.setInput(y, new float[4]);
      s.forward();
      s.backward();
      assertTrue(Float.isFinite(s.loss()));
    }
    IllegalArgumentException unsaved = assertThrows(IllegalArgumentException.class, () -> GraphFile.write(graph, 1, null));
    assertTrue(unsaved.getMessage().startsWith("node 'sq' cannot be written to a graph file: no OpType of kind 'square' is "
        + "registered"), "a checkpoint that could not be read back is refused: " + unsaved.getMessage());
    try (Backend device = OpenClTests.backend()) {
      GraphException e = assertThrows(GraphException.class, () -> device.compile(graph, 4).close());
      assertTrue(e.getMessage().contains("node 'sq'") && e.getMessage().contains("has no kernels"), e.getMessage());
    }
  }
}
