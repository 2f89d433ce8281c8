package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.ops.Concat;
import dev.nodal.ops.GlobalAvgPool2d;
import dev.nodal.ops.Layers;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Reshape;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.parallel.DataParallelBackend;
import dev.nodal.testkit.OpenClTests;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Inputs that ask for their gradient ({@code Input.requiresGrad()}, PyTorch's
 * {@code x.requires_grad_()}): {@code session.gradient(x)} is {@code dL/dx} after backward, on
 * every backend, checked against finite differences of the loss and against the closed form
 * where there is one.
 */
class InputGradientTest {

  /** Images x feed a convolution and, beside it, a concat: the gradient of x sums both paths. */
  private static Graph cnn() {
    GraphBuilder g = new GraphBuilder(5);
    Input x = g.input("x", 2, 5, 4).requiresGrad();
    Input y = g.labels("y", 3);
    Node h = g.apply(new Tanh(), "act", Layers.conv2d(g, "conv", x, 3, 3, 1, Init.he()));
    Node gap = g.apply(new GlobalAvgPool2d(), "gap", g.apply(new Concat(), "cat", h, x));
    Node logits = Layers.dense(g, "fc", gap, 3, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }

  private static float[] values(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
    return v;
  }

  private static void setBatch(Session s, Graph g, int n, long seed) {
    s.setInput((Input) g.node("x"), values(n * 40, seed));
    float[] labels = new float[n];
    for (int i = 0; i < n; i++) labels[i] = i % 3;
    s.setInput((Input) g.node("y"), labels);
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void theGradientOfAnInputMatchesFiniteDifferences(String backendName) {
    Graph g = cnn();
    try (Backend backend = OpenClTests.named(backendName); Session s = backend.compile(g, CompileOptions.maxBatch(4))) {
      setBatch(s, g, 3, 1);
      GradientCheck.Report report = GradientCheck.graph(s, 7);
      report.assertPassed("dL/dx and dL/dparams on " + backend.name());
      assertTrue(report.compared() > 120, "the 120 elements of x were compared besides the parameters");
      // Not accumulated across calls, and sized for the batch of the last backward.
      float[] once = s.gradient(g.node("x"));
      s.forward();
      s.backward();
      assertArrayClose(once, s.gradient(g.node("x")), 0f, "a second backward on the same batch");
      setBatch(s, g, 1, 2);
      s.forward();
      s.backward();
      assertEquals(40, s.gradient(g.node("x")).length);
    }
  }

  @Test
  void theDeviceGivesTheCpusInputGradient() {
    Graph g = cnn();
    try (Backend cpu = Backends.cpu(); Backend cl = OpenClTests.backend();
        Session a = cpu.compile(g, CompileOptions.maxBatch(4)); Session b = cl.compile(g, CompileOptions.maxBatch(4))) {
      for (Session s : List.of(a, b)) {
        setBatch(s, g, 4, 3);
        s.forward();
        s.backward();
      }
      assertArrayClose(a.gradient(g.node("x")), b.gradient(g.node("x")), 1e-5f, "dL/dx, OpenCL against the CPU");
    }
  }

  /**
   * A graph without parameters: {@code L = mean((flatten(x) − t)²)}, so {@code dL/dx = 2(x − t)/M}
   * and {@code dL/dt = −dL/dx}; x reaches the loss through a view, which shares its gradient.
   */
  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void aGraphWithoutParametersGivesItsInputsTheirGradients(String backendName) {
    GraphBuilder b = new GraphBuilder(1);
    Input x = b.input("x", 2, 3).requiresGrad();
    Input t = b.input("t", 6).requiresGrad();
    Graph g = b.build(b.apply(new Mse(), "loss", b.apply(Reshape.flatten(), "flat", x), t));
    assertTrue(g.params().isEmpty());
    float[] xs = values(30, 4), ts = values(30, 5), expected = new float[30], minus = new float[30];
    for (int i = 0; i < 30; i++) {
      expected[i] = 2 * (xs[i] - ts[i]) / 30;
      minus[i] = -expected[i];
    }
    try (Backend backend = OpenClTests.named(backendName); Session s = backend.compile(g, CompileOptions.maxBatch(8))) {
      s.setInput(x, xs);
      s.setInput(t, ts);
      s.forward();
      s.backward();
      assertArrayClose(expected, s.gradient(x), 1e-6f, "dL/dx on " + backend.name());
      assertArrayClose(minus, s.gradient(t), 1e-6f, "dL/dt on " + backend.name());
      GradientCheck.graph(s, 3).assertPassed("finite differences on " + backend.name());
    }
  }

  /** Data-parallel workers each compute their rows' gradient; together they give the batch's. */
  @Test
  void dataParallelWorkersGiveTheBatchsInputGradient() {
    Graph g = cnn();
    try (Backend one = Backends.cpu(); Backend many = new DataParallelBackend(List.of(Backends.cpu(), Backends.cpu(),
        Backends.cpu())); Session a = one.compile(g, CompileOptions.maxBatch(8));
        Session b = many.compile(g, CompileOptions.maxBatch(8))) {
      for (Session s : List.of(a, b)) {
        setBatch(s, g, 5, 6);
        s.forward();
        s.backward();
      }
      assertArrayClose(a.gradient(g.node("x")), b.gradient(g.node("x")), 1e-6f, "dL/dx over three workers");
      GradientCheck.graph(b, 9).assertPassed("finite differences over three workers");
    }
  }

  @Test
  void misuseIsRefusedNamingTheInput() {
    GraphBuilder b = new GraphBuilder(1);
    Input y = b.labels("y", 3);
    assertEquals("labels 'y': class indices have no gradient; requiresGrad() is for inputs of examples "
        + "(GraphBuilder.input)", assertThrows(GraphException.class, y::requiresGrad).getMessage());
    Input x = b.input("x", 3).requiresGrad();
    Input stray = b.input("stray", 3).requiresGrad();
    Node logits = Layers.dense(b, "fc", x, 3, Init.xavier());
    Node loss = b.apply(new SoftmaxCrossEntropy(), "loss", logits, y);
    assertEquals("input 'stray' asks for its gradient (requiresGrad()) but never reaches the loss 'loss', so it has none; "
        + "connect it or drop requiresGrad()", assertThrows(GraphException.class, () -> b.build(loss)).getMessage());
    assertThrows(IllegalStateException.class, x::requiresGrad, "the graph is built");

    GraphBuilder c = new GraphBuilder(1);
    Input plain = c.input("x", 3);
    Input labels = c.labels("y", 3);
    Graph g = c.build(c.apply(new SoftmaxCrossEntropy(), "loss", Layers.dense(c, "fc", plain, 3, Init.xavier()), labels));
    assertFalse(plain.isGradRequested());
    assertFalse(g.needsGradient(plain));
    try (Backend cpu = Backends.cpu(); Session s = cpu.compile(g, CompileOptions.maxBatch(2))) {
      s.setInput(plain, new float[] {1, 2, 3});
      s.setInput(labels, new float[] {1});
      s.forward();
      s.backward();
      String why = assertThrows(GraphException.class, () -> s.gradient(plain)).getMessage();
      assertTrue(why.contains("Input.requiresGrad()"), why);
    }
  }

  private static void assertArrayClose(float[] expected, float[] actual, float tolerance, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      float allowed = tolerance * Math.max(1f, Math.abs(expected[i]));
      assertTrue(Math.abs(expected[i] - actual[i]) <= allowed, what + ": element " + i + " is " + actual[i] + ", expected "
          + expected[i]);
    }
  }
}
