package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Add, sub, mul and div against PyTorch's broadcasting ({@code fixtures/torch-broadcast.json}) on
 * both backends: the output, and each input's gradient under a given upstream gradient (as the loss
 * {@code MSE(z, z − dy·n/2)}, whose gradient with respect to z is dy). Also the shape rule's batch
 * dimension and its errors.
 */
class TorchBroadcastTest {
  private static final List<Op> OPS = List.of(new Add(), new Sub(), new Mul(), new Div());

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-broadcast.json").get("cases"));
  }

  @ParameterizedTest(name = "{0} {1}")
  @MethodSource("cases")
  void matchesPyTorch(String backendName, JsonNode c) {
    int[] aShape = ints(c.get("a_shape")), bShape = ints(c.get("b_shape"));
    float[] dy = floats(c.get("dy"));
    try (Backend backend = OpenClTests.named(backendName)) {
      for (Op op : OPS) {
        JsonNode expected = c.get(op.kind());
        float[] z = floats(expected.get("z"));
        GraphBuilder g = new GraphBuilder(1);
        Param a = g.param("a", Init.zeros(), aShape), b = g.param("b", Init.zeros(), bShape);
        Node out = g.apply(op, "z", a, b);
        Param t = g.param("t", Init.zeros(), out.shape().dims());
        Graph graph = g.build(g.apply(new Mse(), "loss", out, t));
        try (Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
          s.setParam(a, floats(c.get("a")));
          s.setParam(b, floats(c.get("b")));
          s.setParam(t, TorchFixtures.mseTargetFor(z, dy));
          s.forward();
          s.backward();
          String what = op.kind() + " " + c.get("name").asText() + " on " + backend.name();
          assertClose(z, s.value(out), what);
          assertClose(floats(expected.get("da")), s.gradient(a), "da of " + what);
          assertClose(floats(expected.get("db")), s.gradient(b), "db of " + what);
        }
      }
    }
  }

  @Test
  void theBatchDimensionStaysFirst() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 4);
    assertEquals(Shape.batchOf(3, 4), g.apply(new Add(), "bias", x, g.param("b", Init.zeros(), 4)).shape());
    assertEquals(Shape.batchOf(3, 4), g.apply(new Mul(), "rows", x, g.param("r", Init.zeros(), 3, 1)).shape());
    assertEquals(Shape.batchOf(3, 4), g.apply(new Sub(), "first", g.param("f", Init.zeros(), 1, 1, 4), x).shape());
    assertEquals(Shape.batchOf(3, 4), g.apply(new Div(), "both", x, g.input("y", 1, 4)).shape());

    GraphException e = assertThrows(GraphException.class, () -> g.apply(new Add(), "sized", x, g.param("s", Init.zeros(), 2, 3, 4)));
    assertEquals("add 'sized': cannot broadcast 'x' [N, 3, 4] with 's' [2, 3, 4]: dimension 0 is N against 2 "
        + "(sizes must be equal or 1, aligned at the last dimension)", e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Mul(), "deeper", x, g.param("d", Init.zeros(), 2, 1, 3, 4)));
    assertEquals("mul 'deeper': 'x' [N, 3, 4] has the batch dimension, which stays first, so it needs as many "
        + "dimensions as 'd' [2, 1, 3, 4]", e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Div(), "odd", x, g.param("o", Init.zeros(), 5)));
    assertEquals("div 'odd': cannot broadcast 'x' [N, 3, 4] with 'o' [5]: dimension 2 is 4 against 5 "
        + "(sizes must be equal or 1, aligned at the last dimension)", e.getMessage());
  }

  /** A batch of examples broadcast against parameters on both sides, on OpenCL against the CPU. */
  @Test
  void batchedInputsMatchAcrossBackends() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 2, 1, 5).requiresGrad();
    Node scaled = g.apply(new Mul(), "scaled", x, g.param("w", Init.uniform(-1, 1), 3, 1));
    Node shifted = g.apply(new Sub(), "shifted", scaled, g.param("c", Init.uniform(-1, 1), 1, 2, 1, 5));
    Node ratio = g.apply(new Div(), "ratio", shifted, g.param("d", Init.uniform(0.5f, 1.5f), 5));
    Input t = g.input("t", 2, 3, 5);
    Graph graph = g.build(g.apply(new Mse(), "loss", g.apply(new Add(), "sum", ratio, x), t));
    Map<String, float[]> inputs = new HashMap<>();
    inputs.put("x", values(4 * 10, 1));
    inputs.put("t", values(4 * 30, 2));
    try (Backend cpu = OpenClTests.named("cpu"); Backend device = OpenClTests.named("opencl")) {
      Parity.Report r = Parity.compare(graph, device, cpu, inputs);
      assertTrue(r.ok(), r.format());
    }
  }

  /** Broadcasting that alternates over more dimensions than the kernels index runs on the CPU only. */
  @Test
  void kernelsRefuseMoreThanSixAlternatingDimensions() {
    GraphBuilder g = new GraphBuilder(1);
    Param a = g.param("a", Init.uniform(-1, 1), 2, 1, 2, 1, 2, 1, 2, 1);
    Param b = g.param("b", Init.uniform(-1, 1), 1, 2, 1, 2, 1, 2, 1, 2);
    Node sum = g.apply(new Add(), "sum", a, b);
    Graph graph = g.build(g.apply(new Mse(), "loss", sum, g.param("t", Init.zeros(), 2, 2, 2, 2, 2, 2, 2, 2)));
    try (Backend device = OpenClTests.named("opencl")) {
      GraphException e = assertThrows(GraphException.class, () -> device.compile(graph, CompileOptions.maxBatch(1)).close());
      assertTrue(e.getMessage().startsWith("node 'sum': broadcasting [2, 1, 2, 1, 2, 1, 2, 1] with [1, 2, 1, 2, 1, 2, 1, 2] "
          + "needs 8 dimensions"), e.getMessage());
    }
    try (Backend cpu = OpenClTests.named("cpu"); Session s = cpu.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.forward();
      float[] av = s.value(a), bv = s.value(b), z = s.value(sum);
      assertEquals(av[0] + bv[0], z[0]);
      assertEquals(av[15] + bv[15], z[255]);
    }
  }

  private static float[] values(int n, int seed) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) Math.sin(i * 0.37 + seed);
    return v;
  }
}
