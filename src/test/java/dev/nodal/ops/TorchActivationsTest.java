package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.graph.Pass;
import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Op;
import dev.nodal.graph.Param;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.Map;
import java.util.function.Supplier;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * GELU (tanh form) and LeakyReLU against PyTorch's values, committed in
 * {@code fixtures/torch-activations.json} by {@code scripts/torch_fixtures.py}: the CPU code's
 * output and input gradient, and the OpenCL kernels' output. (OpenCL gradients match the CPU's in
 * the parity test.)
 */
class TorchActivationsTest {
  private static final Map<String, Supplier<Op>> OPS = Map.of("gelu_tanh", Gelu::new,
      "leaky_relu_0.01", () -> new LeakyRelu(0.01f), "leaky_relu_0.2", () -> new LeakyRelu(0.2f),
      "sigmoid", Sigmoid::new, "tanh", Tanh::new);

  static JsonNode caseNamed(JsonNode root, String name) {
    for (JsonNode c : root.get("cases")) if (c.get("name").asText().equals(name)) return c;
    throw new AssertionError("no case " + name);
  }

  @ParameterizedTest
  @ValueSource(strings = {"gelu_tanh", "leaky_relu_0.01", "leaky_relu_0.2", "sigmoid", "tanh"})
  void cpuMatchesPyTorch(String name) {
    JsonNode root = TorchFixtures.load("torch-activations.json"), c = caseNamed(root, name);
    float[] x = floats(root.get("x")), dy = floats(root.get("dy"));
    Op op = OPS.get(name).get();
    Shape shape = Shape.of(x.length);
    CpuTensor out = CpuTensor.zeros(shape), dx = CpuTensor.zeros(shape);
    CpuTensor[] in = {new CpuTensor(x, shape)};
    op.forward(Pass.of(true, 0), in, out);
    op.backward(Pass.of(true, 0), in, out, new CpuTensor(dy, shape), new CpuTensor[] {dx});
    assertClose(floats(c.get("y")), out.data, name + " y");
    assertClose(floats(c.get("dx")), dx.data, name + " dx");
  }

  @ParameterizedTest
  @ValueSource(strings = {"gelu_tanh", "leaky_relu_0.01", "leaky_relu_0.2", "sigmoid", "tanh"})
  void openClMatchesPyTorch(String name) {
    JsonNode root = TorchFixtures.load("torch-activations.json"), c = caseNamed(root, name);
    float[] x = floats(root.get("x"));
    GraphBuilder g = new GraphBuilder(1);
    Param p = g.param("x", dev.nodal.graph.Init.zeros(), x.length);
    var z = g.apply(OPS.get(name).get(), "z", p);
    try (Backend b = OpenClTests.backend(); Session s = b.compile(g.build(), 1)) {
      s.setParam(p, x);
      s.forward();
      assertClose(floats(c.get("y")), s.value(z), name + " y on " + b.name());
    }
  }
}
