package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
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
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * MatMul against PyTorch's {@code torch.matmul} ({@code fixtures/torch-matmul.json}) on both
 * backends: batched, broadcast and transposed operands, the output and each operand's gradient
 * under a given upstream gradient (as the loss {@code MSE(z, z − dy·n/2)}, whose gradient with
 * respect to z is dy); the same with the operands fed as batches of examples; and a weight read
 * by an embedding and, transposed, by an output projection, whose gradient sums both uses.
 */
class TorchMatMulTest {
  private static final JsonNode FIXTURE = TorchFixtures.load("torch-matmul.json");

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(FIXTURE.get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void matmulMatchesPyTorch(String backendName, JsonNode c) {
    GraphBuilder g = new GraphBuilder(1);
    Param a = g.param("a", Init.zeros(), ints(c.get("a_shape"))), b = g.param("b", Init.zeros(), ints(c.get("b_shape")));
    Node z = g.apply(op(c), "z", a, b);
    assertEquals(Arrays.toString(ints(c.get("z_shape"))), Arrays.toString(z.shape().dims()), "output shape");
    float[] zt = floats(c.get("z"));
    Param t = g.param("t", Init.zeros(), ints(c.get("z_shape")));
    Graph graph = g.build(g.apply(new Mse(), "loss", z, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(a, floats(c.get("a")));
      s.setParam(b, floats(c.get("b")));
      s.setParam(t, TorchFixtures.mseTargetFor(zt, floats(c.get("dy"))));
      s.forward();
      s.backward();
      String on = c.get("name").asText() + " on " + backend.name();
      assertClose(zt, s.value(z), "z of " + on);
      assertClose(floats(c.get("da")), s.gradient(a), "da of " + on);
      assertClose(floats(c.get("db")), s.gradient(b), "db of " + on);
    }
  }

  /**
   * The leading dimension as the batch N of a graph: both operands batches of examples
   * ({@code [N, 3, 4] × [N, 4, 5]}), and a batch of examples times a shared weight
   * ({@code [N, 3, 4, 5] × [5, 6]}); the inputs ask for their gradients.
   */
  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void leadingDimensionMayBeTheBatch(String backendName) {
    for (JsonNode c : FIXTURE.get("cases")) {
      String name = c.get("name").asText();
      if (!name.equals("batched") && !name.equals("broadcast_weight")) continue;
      boolean bothBatched = name.equals("batched");
      int[] aShape = ints(c.get("a_shape")), bShape = ints(c.get("b_shape")), zShape = ints(c.get("z_shape"));
      int n = aShape[0];
      GraphBuilder g = new GraphBuilder(1);
      Input a = g.input("a", rest(aShape)).requiresGrad();
      Node b = bothBatched ? g.input("b", rest(bShape)).requiresGrad() : g.param("b", Init.zeros(), bShape);
      Node z = g.apply(op(c), "z", a, b);
      Input t = g.input("t", rest(zShape));
      Graph graph = g.build(g.apply(new Mse(), "loss", z, t));
      float[] zt = floats(c.get("z"));
      try (Backend backend = OpenClTests.named(backendName);
          Session s = backend.compile(graph, CompileOptions.maxBatch(n).keepAll())) {
        s.setInput(a, floats(c.get("a")));
        if (b instanceof Input in) s.setInput(in, floats(c.get("b")));
        else s.setParam((Param) b, floats(c.get("b")));
        s.setInput(t, TorchFixtures.mseTargetFor(zt, floats(c.get("dy"))));
        s.forward();
        s.backward();
        String on = name + " with batch inputs on " + backend.name();
        assertClose(zt, s.value(z), "z of " + on);
        assertClose(floats(c.get("da")), s.gradient(a), "da of " + on);
        assertClose(floats(c.get("db")), s.gradient(b), "db of " + on);
      }
    }
  }

  /**
   * Weight tying: one table {@code w [V, D]} embeds the indices and, read transposed, projects
   * the embeddings back onto the vocabulary ({@code logits = embedding(idx, w) · wᵀ}); its
   * gradient is the sum of both uses, as PyTorch's.
   */
  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void tiedWeightGetsTheSumOfBothUses(String backendName) {
    JsonNode f = FIXTURE.get("tied");
    int[] wShape = ints(f.get("w_shape"));
    int[] indices = ints(f.get("indices"));
    GraphBuilder g = new GraphBuilder(1);
    Param w = g.param("w", Init.zeros(), wShape);
    Input y = g.labels("y", wShape[0]);
    Node h = g.apply(new Embedding(), "h", w, y);
    Node logits = g.apply(new MatMul(false, true), "logits", h, w);
    Input t = g.input("t", wShape[0]);
    Graph graph = g.build(g.apply(new Mse(), "loss", logits, t));
    float[] z = floats(f.get("z")), labels = new float[indices.length];
    for (int i = 0; i < indices.length; i++) labels[i] = indices[i];
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(indices.length).keepAll())) {
      s.setParam(w, floats(f.get("w")));
      s.setInput(y, labels);
      s.setInput(t, TorchFixtures.mseTargetFor(z, floats(f.get("dy"))));
      s.forward();
      s.backward();
      assertClose(z, s.value(logits), "tied logits on " + backend.name());
      assertClose(floats(f.get("dw")), s.gradient(w), "tied dw on " + backend.name());
    }
  }

  /**
   * One node as both operands, attention's scores {@code x·xᵀ} of a batch of sequences
   * {@code x [N, T, D]}: its gradient sums what each operand passes back.
   */
  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void sameNodeAsBothOperands(String backendName) {
    JsonNode f = FIXTURE.get("gram");
    int[] xShape = ints(f.get("x_shape"));
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", rest(xShape)).requiresGrad();
    Node scores = g.apply(new MatMul(false, true), "scores", x, x);
    Input t = g.input("t", xShape[1], xShape[1]);
    Graph graph = g.build(g.apply(new Mse(), "loss", scores, t));
    float[] z = floats(f.get("z"));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(xShape[0]).keepAll())) {
      s.setInput(x, floats(f.get("x")));
      s.setInput(t, TorchFixtures.mseTargetFor(z, floats(f.get("dy"))));
      s.forward();
      s.backward();
      assertClose(z, s.value(scores), "x·xᵀ on " + backend.name());
      assertClose(floats(f.get("dx")), s.gradient(x), "dx of x·xᵀ on " + backend.name());
    }
  }

  /** {@link Layers#projection} is {@code x·W} over the last dimension, W {@code [D, units]}. */
  @Test
  void projectionLayerMultipliesTheLastDimension() {
    JsonNode c = null;
    for (JsonNode e : FIXTURE.get("cases")) if (e.get("name").asText().equals("broadcast_weight")) c = e;
    int[] aShape = ints(c.get("a_shape")), bShape = ints(c.get("b_shape"));
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", rest(aShape));
    Node z = Layers.projection(g, "proj", x, bShape[1], Init.zeros());
    Param w = (Param) g.node("proj.W");
    assertEquals(Arrays.toString(bShape), Arrays.toString(w.shape().dims()));
    Input t = g.input("t", rest(ints(c.get("z_shape"))));
    Graph graph = g.build(g.apply(new Mse(), "loss", z, t));
    try (Backend backend = OpenClTests.named("cpu");
        Session s = backend.compile(graph, CompileOptions.maxBatch(aShape[0]).keepAll())) {
      s.setInput(x, floats(c.get("a")));
      s.setParam(w, floats(c.get("b")));
      s.setInput(t, floats(c.get("z")));
      s.forward();
      assertClose(floats(c.get("z")), s.value(z), "projection");
    }
    GraphBuilder other = new GraphBuilder(1);
    Param v = other.param("v", Init.zeros(), 4);
    assertEquals("projection 'p': input 'v' must be a batch of vectors [..., D], has shape [4]",
        assertThrows(GraphException.class, () -> Layers.projection(other, "p", v, 2, Init.zeros())).getMessage());
  }

  @Test
  void refusesShapesThatDoNotMultiply() {
    assertEquals("matmul 'z': input 'a' must have rank 2 or more ([..., rows, columns]), has shape [4]",
        fails(new MatMul(), new int[] {4}, new int[] {4, 5}));
    assertEquals("matmul 'z': 'a' [2, 3, 4] transposed has 3 columns, 'b' [2, 4, 5] has 4 rows",
        fails(new MatMul(true, false), new int[] {2, 3, 4}, new int[] {2, 4, 5}));
    assertEquals("matmul 'z': batch dimensions of 'a' [2, 3, 4] and 'b' [3, 4, 5] do not broadcast: 2 against 3",
        fails(new MatMul(), new int[] {2, 3, 4}, new int[] {3, 4, 5}));
  }

  @Test
  void keepsTheBatchDimensionFirst() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 4);
    Input seq = g.input("seq", 3, 4);
    Param w = g.param("w", Init.zeros(), 4, 5);
    assertEquals("[N, 5]", g.apply(new MatMul(), "rows", x, w).shape().toString());
    assertEquals("[N, 3, 3]", g.apply(new MatMul(false, true), "scores", seq, seq).shape().toString());
    String err = assertThrows(GraphException.class, () -> g.apply(new MatMul(true, false), "z1", x, w)).getMessage();
    assertEquals("matmul 'z1': 'x' [N, 4] and 'w' [4, 5] would sum over the batch dimension N", err);
    err = assertThrows(GraphException.class, () -> g.apply(new MatMul(), "z2", x, g.param("v", Init.zeros(), 2, 4, 5)))
        .getMessage();
    assertEquals("matmul 'z2': 'x' [N, 4] and 'v' [2, 4, 5] would put the batch dimension N at dimension 1 of the "
        + "output; it must stay first", err);
  }

  private static MatMul op(JsonNode c) {
    return new MatMul(c.get("trans_a").asBoolean(), c.get("trans_b").asBoolean());
  }

  private static int[] rest(int[] shape) {
    return Arrays.copyOfRange(shape, 1, shape.length);
  }

  private static String fails(MatMul op, int[] a, int[] b) {
    GraphBuilder g = new GraphBuilder(1);
    Param pa = g.param("a", Init.zeros(), a), pb = g.param("b", Init.zeros(), b);
    return assertThrows(GraphException.class, () -> g.apply(op, "z", pa, pb)).getMessage();
  }
}
