package dev.nodal.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.GradientCheck;
import dev.nodal.backend.Parity;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link Layers#transformerBlock}, {@link Layers#multiHeadAttention} and {@link Layers#mlp} as a
 * whole: the parameters' names and shapes, the gradient of a block against finite differences,
 * one block's forward and backward on OpenCL against the CPU, and the fused attention core against
 * the same attention written out of matmul, scale and causal softmax.
 */
class TransformerBlockTest {
  private static final int T = 5, C = 8, HEADS = 2;

  /** A block over {@code x [N, T, C]} (which asks for its gradient) with an MSE loss against data. */
  private static Graph block(float dropout) {
    GraphBuilder g = new GraphBuilder(3);
    Input x = g.input("x", T, C).requiresGrad();
    Node h = Layers.transformerBlock(g, "block", x, HEADS, true, dropout, 11);
    return g.build(g.apply(new Mse(), "loss", h, g.input("target", T, C)));
  }

  private static Map<String, float[]> data(int batch) {
    Map<String, float[]> in = new HashMap<>();
    in.put("x", Models.uniform(batch * T * C, 5));
    in.put("target", Models.uniform(batch * T * C, 6));
    return in;
  }

  @Test
  void parametersHavePredictableNamesAndShapes() {
    Graph graph = block(0f);
    Map<String, Shape> params = new HashMap<>();
    for (Param p : graph.params()) params.put(p.name(), p.shape());
    assertEquals(Map.ofEntries(Map.entry("block.ln1.gamma", Shape.of(C)), Map.entry("block.ln1.beta", Shape.of(C)),
        Map.entry("block.attn.qkv.W", Shape.of(C, 3 * C)), Map.entry("block.attn.qkv.b", Shape.of(3 * C)),
        Map.entry("block.attn.proj.W", Shape.of(C, C)), Map.entry("block.attn.proj.b", Shape.of(C)),
        Map.entry("block.ln2.gamma", Shape.of(C)), Map.entry("block.ln2.beta", Shape.of(C)),
        Map.entry("block.mlp.fc.W", Shape.of(C, 4 * C)), Map.entry("block.mlp.fc.b", Shape.of(4 * C)),
        Map.entry("block.mlp.proj.W", Shape.of(4 * C, C)), Map.entry("block.mlp.proj.b", Shape.of(C))), params);
    assertEquals(Shape.batchOf(T, C), graph.node("block").shape());
    assertEquals(Shape.batchOf(HEADS, T, C / HEADS), graph.node("block.attn.q.heads").shape());
    assertEquals(Shape.batchOf(HEADS, T, C / HEADS), graph.node("block.attn.core").shape());
    assertTrue(block(0.1f).nodes().stream().filter(n -> n instanceof dev.nodal.graph.Apply a && a.op() instanceof Dropout)
        .count() == 2, "dropout after the attention's and the MLP's output");
  }

  @Test
  void badArgumentsAreRefusedNamingTheLayer() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", T, C);
    GraphException heads = assertThrows(GraphException.class, () -> Layers.multiHeadAttention(g, "mha", x, 3, true));
    assertTrue(heads.getMessage().contains("'mha'") && heads.getMessage().contains("3 heads"), heads.getMessage());
    GraphException rank = assertThrows(GraphException.class,
        () -> Layers.transformerBlock(g, "blk", g.input("flat", C), HEADS, true));
    assertTrue(rank.getMessage().contains("'blk'") && rank.getMessage().contains("[N, T, C]"), rank.getMessage());
    assertThrows(GraphException.class, () -> Layers.mlp(g, "ff", x, 16, 1f, 0));
  }

  /** The whole block's gradient, of every parameter and of x, against central differences on the CPU. */
  @Test
  void aBlockPassesTheGradientCheck() {
    Graph graph = block(0f);
    try (Backend cpu = OpenClTests.named("cpu"); Session s = cpu.compile(graph, CompileOptions.maxBatch(2))) {
      int k = 0;
      for (Param p : graph.params()) { // weights large enough that every path carries a gradient above ATOL
        float[] v = Models.uniform(p.shape().size(0), 20 + k++);
        if (p.name().endsWith(".gamma")) for (int i = 0; i < v.length; i++) v[i] += 1f;
        for (int i = 0; i < v.length; i++) v[i] *= 0.5f;
        s.setParam(p, v);
      }
      data(2).forEach((name, v) -> s.setInput((Input) graph.node(name), v));
      GradientCheck.graph(s, 9).assertPassed("transformer block");
    }
  }

  /** One block's values and gradients on OpenCL, as on the CPU; with dropout, which both draw alike. */
  @ParameterizedTest
  @ValueSource(floats = {0f, 0.2f})
  void aBlockOnOpenClMatchesTheCpu(float dropout) {
    try (Backend cpu = OpenClTests.named("cpu"); Backend device = OpenClTests.named("opencl")) {
      Parity.Report r = Parity.compare(block(dropout), device, cpu, data(3));
      assertTrue(r.ok(), r.format());
    }
  }

  /** The attention of {@code [N, H, T, Dh]} heads as matmul, scale, causal softmax and matmul. */
  private static Node composedAttention(GraphBuilder g, Node q, Node k, Node v, int dh) {
    Node scores = g.apply(new Scale((float) (1 / Math.sqrt(dh))), "scaled", g.apply(new MatMul(false, true), "scores", q, k));
    return g.apply(new MatMul(), "out", g.apply(new Softmax(true), "weights", scores), v);
  }

  /** The fused attention core of the layers and its composed form agree in value and in each input's gradient. */
  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void fusedAndComposedAttentionAgree(String backendName) {
    int n = 2, dh = 4;
    Map<String, float[]> data = new HashMap<>();
    for (String in : List.of("q", "k", "v")) data.put(in, Models.uniform(n * HEADS * T * dh, in.charAt(0)));
    float[] dy = Models.uniform(n * HEADS * T * dh, 3);
    float[][] results = new float[2][];
    float[][][] gradients = new float[2][3][];
    for (int fused = 0; fused < 2; fused++) {
      GraphBuilder g = new GraphBuilder(1);
      Input[] qkv = new Input[3];
      for (int i = 0; i < 3; i++) qkv[i] = g.input(List.of("q", "k", "v").get(i), HEADS, T, dh).requiresGrad();
      Node out = fused == 1 ? Layers.attention(g, "out", qkv[0], qkv[1], qkv[2], true)
          : composedAttention(g, qkv[0], qkv[1], qkv[2], dh);
      Input target = g.input("target", HEADS, T, dh);
      Graph graph = g.build(g.apply(new Mse(), "loss", out, target));
      try (Backend b = OpenClTests.named(backendName);
          Session s = b.compile(graph, CompileOptions.maxBatch(n).keep("out"))) {
        for (int i = 0; i < 3; i++) s.setInput(qkv[i], data.get(qkv[i].name()));
        s.setInput(target, new float[dy.length]);
        s.forward();
        results[fused] = s.value(out);
        s.setInput(target, TorchFixtures.mseTargetFor(results[fused], dy));
        s.forward();
        s.backward();
        for (int i = 0; i < 3; i++) gradients[fused][i] = s.gradient(qkv[i]);
      }
    }
    assertClose(results[0], results[1], "attention on " + backendName);
    for (int i = 0; i < 3; i++) assertClose(gradients[0][i], gradients[1][i], "d" + "qkv".charAt(i) + " on " + backendName);
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-5 + 1e-4 * Math.abs(expected[i]), what + " at element " + i);
    }
  }
}
