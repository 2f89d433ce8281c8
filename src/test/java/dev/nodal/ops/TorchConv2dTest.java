package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;

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
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Conv2d against PyTorch's {@code conv2d} ({@code fixtures/torch-conv2d.json}): plain, strided +
 * padded + dilated + grouped, and without bias, on both backends; the output and the gradients of
 * input, weight and bias under a given upstream gradient (as an MSE whose target makes it so).
 */
class TorchConv2dTest {
  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-conv2d.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void conv2dMatchesPyTorch(String backendName, JsonNode c) {
    int[] stride = ints(c.get("stride")), pad = ints(c.get("padding")), dil = ints(c.get("dilation"));
    boolean bias = c.get("bias").asBoolean();
    Conv2d op = Conv2d.builder().stride(stride[0], stride[1]).padding(pad[0], pad[1]).dilation(dil[0], dil[1])
        .groups(c.get("groups").asInt()).bias(bias).build();
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), ints(c.get("x_shape"))), w = g.param("w", Init.zeros(), ints(c.get("w_shape")));
    Param b = bias ? g.param("b", Init.zeros(), ints(c.get("w_shape"))[0]) : null;
    Node conv = bias ? g.apply(op, "conv", x, w, b) : g.apply(op, "conv", x, w);
    Param t = g.param("t", Init.zeros(), ints(c.get("z_shape")));
    Graph graph = g.build(g.apply(new Mse(), "loss", conv, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(x, floats(c.get("x")));
      s.setParam(w, floats(c.get("w")));
      if (bias) s.setParam(b, floats(c.get("b")));
      s.setParam(t, target);
      s.forward();
      s.backward();
      assertClose(z, s.value(conv), "z on " + backend.name());
      assertClose(floats(c.get("dx")), s.gradient(x), "dx on " + backend.name());
      assertClose(floats(c.get("dw")), s.gradient(w), "dw on " + backend.name());
      if (bias) assertClose(floats(c.get("db")), s.gradient(b), "db on " + backend.name());
    }
  }
}
