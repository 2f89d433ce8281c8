package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Parity;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.Param;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Softmax and log-softmax along the last axis at rank 3 and 4, causal softmax, and permute against
 * PyTorch ({@code fixtures/torch-softmax-nd.json}) on both backends: the output, and the input's
 * gradient under a given upstream gradient (as the loss {@code MSE(z, z − dy·n/2)}).
 */
class TorchSoftmaxNdTest {

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-softmax-nd.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void matchesPyTorch(String backendName, JsonNode c) {
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), ints(c.get("x_shape")));
    Node op = g.apply(op(c), "op", x);
    Param t = g.param("t", Init.zeros(), ints(c.get("z_shape")));
    Graph graph = g.build(g.apply(new Mse(), "loss", op, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(x, floats(c.get("x")));
      s.setParam(t, target);
      s.forward();
      s.backward();
      float[] value = s.value(op);
      assertClose(z, value, "z on " + backend.name());
      assertClose(floats(c.get("dx")), s.gradient(x), "dx on " + backend.name());
      if (c.get("causal").asBoolean()) {
        for (int i = 0; i < z.length; i++) {
          if (z[i] == 0f) assertTrue(value[i] == 0f, "masked weight " + i + " is exactly 0 on " + backend.name());
        }
      }
    }
  }

  private static Op op(JsonNode c) {
    return switch (c.get("op").asText()) {
      case "softmax" -> new Softmax(c.get("causal").asBoolean());
      case "log_softmax" -> new LogSoftmax();
      case "permute" -> new Permute(ints(c.get("axes")));
      default -> throw new IllegalArgumentException("unknown op in fixture: " + c.get("op"));
    };
  }

  /** Attention's split into heads: [N, T, H, D] to [N, H, T, D] keeps the batch first. */
  @Test
  void transposeKeepsTheBatchAndRefusesToMoveIt() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 2, 4);
    assertArrayEquals(new int[] {Shape.BATCH, 2, 3, 4}, Layers.transpose(g, "heads", x, 1, 2).shape().dims());
    String moved = assertThrows(GraphException.class, () -> Layers.transpose(g, "bad", x, 0, -1)).getMessage();
    assertTrue(moved.contains("bad") && moved.contains("batch"), moved);
    String outOfRange = assertThrows(GraphException.class, () -> Layers.transpose(g, "far", x, 1, 4)).getMessage();
    assertTrue(outOfRange.contains("far") && outOfRange.contains("rank 4"), outOfRange);
  }

  /** More queries than keys would leave a row with no key to see: refused at build time. */
  @Test
  void causalSoftmaxRefusesMoreQueriesThanKeys() {
    GraphBuilder g = new GraphBuilder(1);
    Input scores = g.input("scores", 5, 3);
    String m = assertThrows(GraphException.class, () -> g.apply(new Softmax(true), "attn", scores)).getMessage();
    assertTrue(m.contains("attn") && m.contains("Tq <= Tk"), m);
  }

  /**
   * Attention weights of a batch: scores [N, Tq, H, Tk] split into heads by a transpose, then a
   * causal softmax. Each weight row is the softmax of the score row it came from over the keys
   * it may see, 0 past them, and OpenCL matches the CPU, gradients included.
   */
  @Test
  void batchedHeadsTransposeThenCausalSoftmax() {
    int n = 2, tq = 3, h = 2, tk = 4;
    GraphBuilder g = new GraphBuilder(1);
    Input scores = g.input("scores", tq, h, tk).requiresGrad();
    Node heads = Layers.transpose(g, "heads", scores, 1, 2);
    Node weights = g.apply(new Softmax(true), "weights", heads);
    Input t = g.input("t", h, tq, tk);
    Graph graph = g.build(g.apply(new Mse(), "loss", weights, t));
    float[] x = new float[n * tq * h * tk], target = new float[x.length];
    for (int e = 0; e < x.length; e++) {
      x[e] = (float) Math.sin(e * 1.3) * 3;
      target[e] = (float) Math.cos(e * 0.4);
    }
    Map<String, float[]> inputs = Map.of("scores", x, "t", target);
    try (Backend cpu = OpenClTests.named("cpu"); Backend device = OpenClTests.named("opencl")) {
      Parity.Report r = Parity.compare(graph, device, cpu, inputs);
      assertTrue(r.ok(), r.format());
      try (Session s = cpu.compile(graph, CompileOptions.maxBatch(n).keepAll())) {
        s.setInput(scores, x);
        s.setInput(t, target);
        s.forward();
        float[] w = s.value(weights);
        for (int b = 0; b < n; b++) {
          for (int head = 0; head < h; head++) {
            for (int i = 0; i < tq; i++) {
              int visible = i + tk - tq + 1, row = ((b * h + head) * tq + i) * tk, from = ((b * tq + i) * h + head) * tk;
              double sum = 0;
              for (int j = 0; j < visible; j++) sum += Math.exp(x[from + j]);
              for (int j = 0; j < tk; j++) {
                double expected = j < visible ? Math.exp(x[from + j]) / sum : 0;
                assertEquals(expected, w[row + j], 1e-6, "weight " + (row + j));
              }
            }
          }
        }
      }
    }
  }
}
