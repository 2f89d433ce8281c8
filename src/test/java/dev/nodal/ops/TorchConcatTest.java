package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Concat against PyTorch's {@code cat(dim=1)} ({@code fixtures/torch-concat.json}) on both
 * backends: the output, and each input's gradient under a given upstream gradient (as the loss
 * {@code MSE(z, z − dy·n/2)}, whose gradient with respect to z is dy).
 */
class TorchConcatTest {

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void concatMatchesPyTorch(String backendName) {
    JsonNode f = TorchFixtures.load("torch-concat.json");
    int[] aShape = {f.get("a_shape").get(0).asInt(), f.get("a_shape").get(1).asInt(), f.get("a_shape").get(2).asInt()};
    int[] bShape = {f.get("b_shape").get(0).asInt(), f.get("b_shape").get(1).asInt(), f.get("b_shape").get(2).asInt()};
    float[] z = floats(f.get("z")), target = TorchFixtures.mseTargetFor(z, floats(f.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Param a = g.param("a", Init.zeros(), aShape), b = g.param("b", Init.zeros(), bShape);
    Node cat = g.apply(new Concat(), "cat", a, b);
    Param t = g.param("t", Init.zeros(), new int[] {aShape[0], aShape[1] + bShape[1], aShape[2]});
    Graph graph = g.build(g.apply(new Mse(), "loss", cat, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(a, floats(f.get("a")));
      s.setParam(b, floats(f.get("b")));
      s.setParam(t, target);
      s.forward();
      s.backward();
      assertClose(z, s.value(cat), "cat on " + backend.name());
      assertClose(floats(f.get("da")), s.gradient(a), "da on " + backend.name());
      assertClose(floats(f.get("db")), s.gradient(b), "db on " + backend.name());
    }
  }

  /**
   * One {@code new Concat()} serves nodes of any arity: of one input (PyTorch's {@code cat} of a
   * list of one) and of four, gradient-checked, and the same on OpenCL as on the CPU, gradients of
   * the inputs (which ask for theirs) included.
   */
  @org.junit.jupiter.api.Test
  void oneConcatServesOneInputAndFour() {
    Concat cat = new Concat();
    dev.nodal.backend.GradientCheck.op(cat, 1, new int[] {2, 3, 4}).assertPassed("concat of one input");
    dev.nodal.backend.GradientCheck.op(cat, 2, new int[] {2, 1, 3}, new int[] {2, 2, 3}, new int[] {2, 3, 3},
        new int[] {2, 1, 3}).assertPassed("concat of four inputs");
    GraphBuilder g = new GraphBuilder(1);
    java.util.Map<String, float[]> inputs = new java.util.HashMap<>();
    int[] channels = {1, 2, 3, 1};
    Node[] parts = new Node[channels.length];
    for (int i = 0; i < parts.length; i++) {
      parts[i] = g.input("x" + i, channels[i], 3).requiresGrad();
      float[] v = new float[5 * channels[i] * 3];
      for (int e = 0; e < v.length; e++) v[e] = (float) Math.sin(e * 0.7 + i);
      inputs.put("x" + i, v);
    }
    Node one = g.apply(cat, "one", parts[0]);
    Node four = g.apply(cat, "four", one, parts[1], parts[2], parts[3]);
    dev.nodal.graph.Input t = g.input("t", 7, 3);
    inputs.put("t", new float[5 * 7 * 3]);
    Graph graph = g.build(g.apply(new Mse(), "loss", four, t));
    try (Backend cpu = OpenClTests.named("cpu"); Backend device = OpenClTests.named("opencl")) {
      dev.nodal.backend.Parity.Report r = dev.nodal.backend.Parity.compare(graph, device, cpu, inputs);
      org.junit.jupiter.api.Assertions.assertTrue(r.ok(), r.format());
      org.junit.jupiter.api.Assertions.assertTrue(r.entries().stream().anyMatch(e -> e.node() == parts[3]
          && e.gradient() != null), "the inputs' gradients were compared");
    }
  }
}
