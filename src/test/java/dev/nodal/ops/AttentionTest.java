package dev.nodal.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.optim.Sgd;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The fused attention against the same attention composed from ops ({@code matmul} with
 * {@code trans_b}, {@code scale}, causal {@code softmax}, {@code dropout} on the weights,
 * {@code matmul}), forward and backward on both backends; its memory, linear in T; and its dropout,
 * reproducible for a seed and step.
 */
class AttentionTest {

  /** Sizes of one comparison: leading dimensions, Tq, Tk, D, Dv, and the op's settings. */
  record Case(int[] lead, int tq, int tk, int d, int dv, boolean causal, float scale, float dropout, boolean self) {
    Case(int[] lead, int tq, int tk, int d, int dv, boolean causal, float scale, float dropout) {
      this(lead, tq, tk, d, dv, causal, scale, dropout, false);
    }

    /** Self-attention: q, k and v one parameter, whose gradient sums all three. */
    static Case self(int[] lead, int t, int d, boolean causal) {
      return new Case(lead, t, t, d, d, causal, 0, 0, true);
    }

    int[] shape(int rows, int cols) {
      int[] s = java.util.Arrays.copyOf(lead, lead.length + 2);
      s[lead.length] = rows;
      s[lead.length + 1] = cols;
      return s;
    }

    @Override
    public String toString() {
      return java.util.Arrays.toString(lead) + " Tq " + tq + " Tk " + tk + " D " + d + " Dv " + dv
          + (causal ? " causal" : "") + (self ? " self" : "") + (scale != 0 ? " scale " + scale : "") + (dropout != 0 ? " dropout " + dropout : "");
    }
  }

  static Stream<Arguments> cases() {
    List<Case> cases = List.of(new Case(new int[] {2, 3}, 5, 5, 4, 3, false, 0, 0),
        new Case(new int[] {2, 3}, 5, 5, 4, 3, true, 0, 0),
        new Case(new int[] {1}, 17, 37, 9, 5, true, 0.3f, 0),
        new Case(new int[] {2}, 33, 20, 7, 11, false, 0, 0),
        new Case(new int[] {1, 2}, 19, 19, 6, 6, true, 0, 0.2f),
        new Case(new int[] {3}, 4, 40, 5, 2, false, 0, 0.5f),
        // More queries than the CPU's block of 64, and not a multiple of it: a block per 64 rows.
        new Case(new int[] {2}, 70, 70, 8, 8, true, 0, 0.1f), new Case(new int[] {1}, 130, 150, 5, 7, true, 0, 0),
        Case.self(new int[] {2, 2}, 18, 5, true), Case.self(new int[] {1}, 6, 3, false));
    return Stream.of("cpu", "opencl").flatMap(b -> cases.stream().map(c -> Arguments.of(b, c)));
  }

  /** One forward and backward of q, k, v (one parameter when self) through {@code attention} into an MSE: its output and the three gradients. */
  private static float[][] run(String backendName, Case c, boolean fused) {
    GraphBuilder g = new GraphBuilder(5);
    Param q = g.param("q", Init.uniform(-1, 1), c.shape(c.tq, c.d));
    Param k = c.self ? q : g.param("k", Init.uniform(-1, 1), c.shape(c.tk, c.d));
    Param v = c.self ? q : g.param("v", Init.uniform(-1, 1), c.shape(c.tk, c.dv));
    Node z;
    if (fused) {
      z = g.apply(new Attention(c.causal, c.scale, c.dropout, 9), "z", q, k, v);
    } else {
      float scale = c.scale != 0 ? c.scale : (float) (1 / Math.sqrt(c.d));
      Node scores = g.apply(new Scale(scale), "scaled", g.apply(new MatMul(false, true), "scores", q, k));
      Node weights = g.apply(new Softmax(c.causal), "weights", scores);
      if (c.dropout != 0) weights = g.apply(new Dropout(c.dropout, 9), "dropped", weights);
      z = g.apply(new MatMul(), "z", weights, v);
    }
    Param t = g.param("t", Init.uniform(-1, 1), c.shape(c.tq, c.dv));
    Graph graph = g.build(g.apply(new Mse(), "loss", z, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.forward();
      s.backward();
      return new float[][] {s.value(z), s.gradient(q), s.gradient(k), s.gradient(v)};
    }
  }

  /** Equal to float rounding: within 1e-5 of each array's largest magnitude. */
  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void equalsTheComposedAttention(String backend, Case c) {
    float[][] fused = run(backend, c, true), composed = run(backend, c, false);
    String[] names = {"output", "dq", "dk", "dv"};
    for (int n = 0; n < names.length; n++) {
      assertEquals(composed[n].length, fused[n].length, names[n]);
      double largest = 0;
      for (float x : composed[n]) largest = Math.max(largest, Math.abs(x));
      for (int i = 0; i < fused[n].length; i++) {
        assertEquals(composed[n][i], fused[n][i], 1e-5 * largest, names[n] + " at " + i + " on " + backend);
      }
    }
  }

  /** The workspace and backward's scratch hold one float per query row: they double when T doubles. */
  @Test
  void memoryIsLinearInTheSequenceLength() {
    Attention op = new Attention(true);
    int[] sizes = {128, 256, 512};
    long[] floats = new long[sizes.length];
    for (int n = 0; n < sizes.length; n++) {
      Shape x = Shape.of(2, 4, sizes[n], 64);
      Shape[] in = {x, x, x};
      for (Shape s : op.workspace(in)) floats[n] += s.size(0);
      for (Shape s : op.scratch(in, false)) floats[n] += s.size(0);
      for (Shape s : op.scratch(in, true)) floats[n] += s.size(0);
      assertEquals(2L * 2 * 4 * sizes[n], floats[n], "workspace and scratch at T = " + sizes[n]);
    }
    assertEquals(2 * floats[0], floats[1]);
    assertEquals(2 * floats[1], floats[2]);
  }

  /**
   * The output of dropout attention over data q and kv of a batch of 2 (causal), for a seed at a
   * step, twice, then after an update (of a bias after it only), then for another seed.
   */
  private static float[][] dropoutOutputs(String backendName, int seed, int otherSeed) {
    float[][] out = new float[4][];
    float[] data = new float[2 * 8 * 4];
    for (int i = 0; i < data.length; i++) data[i] = (float) Math.sin(i * 0.37);
    for (int run = 0; run < 2; run++) {
      GraphBuilder g = new GraphBuilder(5);
      Input q = g.input("q", 8, 4);
      Input kv = g.input("kv", 8, 4);
      Node z = g.apply(new Attention(true, 0, 0.4f, run == 0 ? seed : otherSeed), "z", q, kv, kv);
      Param bias = g.param("bias", Init.uniform(-1, 1), 4);
      Input t = g.input("t", 8, 4);
      Graph graph = g.build(g.apply(new Mse(), "loss", g.apply(new Add(), "y", z, bias), t));
      try (Backend backend = OpenClTests.named(backendName);
          Session s = backend.compile(graph, CompileOptions.maxBatch(2).keepAll())) {
        s.setOptimizer(Sgd.builder().learningRate(0.1f).build());
        s.setInput(q, data);
        s.setInput(kv, data);
        s.setInput(t, new float[data.length]);
        s.forward();
        if (run == 1) {
          out[3] = s.value(z);
          continue;
        }
        out[0] = s.value(z);
        s.forward();
        out[1] = s.value(z);
        s.backward();
        s.update();
        s.forward();
        out[2] = s.value(z);
      }
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void dropoutIsReproducibleForASeedAndStep(String backend) {
    float[][] out = dropoutOutputs(backend, 4, 5);
    assertArrayEquals(out[0], out[1], "the same seed and step give the same weights");
    assertFalse(java.util.Arrays.equals(out[0], out[2]), "the next step draws a new mask");
    assertFalse(java.util.Arrays.equals(out[0], out[3]), "another seed draws another mask");
    float[][] cpu = dropoutOutputs("cpu", 4, 5);
    for (int i = 0; i < out[0].length; i++) assertEquals(cpu[0][i], out[0][i], 1e-5, "as on the CPU, at " + i);
  }

  /** Heads of a batch: [N, H, T, D] with N symbolic keeps N first. */
  @Test
  void keepsTheBatchFirstAndRefusesBadShapes() {
    GraphBuilder g = new GraphBuilder(1);
    Input q = g.input("q", 2, 5, 4);
    Input k = g.input("k", 2, 7, 4);
    Input v = g.input("v", 2, 7, 3);
    assertArrayEquals(new int[] {Shape.BATCH, 2, 5, 3}, Layers.attention(g, "attn", q, k, v, true).shape().dims());
    String wide = assertThrows(GraphException.class, () -> Layers.attention(g, "wide", q, v, v, false)).getMessage();
    assertTrue(wide.contains("wide") && wide.contains("features"), wide);
    String causal = assertThrows(GraphException.class, () -> Layers.attention(g, "c", k, q, q, true)).getMessage();
    assertTrue(causal.contains("Tq <= Tk"), causal);
    Input other = g.input("o", 3, 7, 4);
    String heads = assertThrows(GraphException.class, () -> Layers.attention(g, "h", q, other, v, false)).getMessage();
    assertTrue(heads.contains("leading dimensions"), heads);
    assertThrows(IllegalArgumentException.class, () -> new Attention(false, 0, 1f, 0));
  }
}
