package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.TorchFixtures;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
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

  /**
   * The same cases through {@code Layers.conv2d} with the kernel's height and width apart (the
   * grouped case's window is 3×2), as PyTorch's {@code Conv2d(C, K, kernel_size=(R, S))}, on an
   * input that asks for its gradient: {@code dx} is then PyTorch's gradient of its input.
   */
  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void layersConv2dWithARectangularKernelMatchesPyTorch(String backendName, JsonNode c) {
    int[] stride = ints(c.get("stride")), pad = ints(c.get("padding")), dil = ints(c.get("dilation"));
    int[] xShape = ints(c.get("x_shape")), wShape = ints(c.get("w_shape")), zShape = ints(c.get("z_shape"));
    boolean bias = c.get("bias").asBoolean();
    Conv2d op = Conv2d.builder().stride(stride[0], stride[1]).padding(pad[0], pad[1]).dilation(dil[0], dil[1])
        .groups(c.get("groups").asInt()).bias(bias).build();
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", xShape[1], xShape[2], xShape[3]).requiresGrad();
    Node conv = Layers.conv2d(g, "conv", x, wShape[0], wShape[2], wShape[3], op, Init.he());
    Input t = g.input("t", zShape[1], zShape[2], zShape[3]);
    Graph graph = g.build(g.apply(new Mse(), "loss", conv, t));
    Param w = (Param) graph.node("conv.W");
    assertArrayEquals(wShape, w.shape().dims());
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(xShape[0]).keep("conv"))) {
      s.setInput(x, floats(c.get("x")));
      s.setInput(t, target);
      s.setParam(w, floats(c.get("w")));
      if (bias) s.setParam((Param) graph.node("conv.b"), floats(c.get("b")));
      s.forward();
      s.backward();
      assertClose(z, s.value(conv), "z on " + backend.name());
      assertClose(floats(c.get("dx")), s.gradient(x), "dx on " + backend.name());
      assertClose(floats(c.get("dw")), s.gradient(w), "dw on " + backend.name());
      if (bias) assertClose(floats(c.get("db")), s.gradient(graph.node("conv.b")), "db on " + backend.name());
    }
  }

  /** Sizes out of range are refused before any parameter is made, naming the argument. */
  @Test
  void layersConv2dNamesTheArgumentAtFault() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 8, 8);
    Conv2d plain = Conv2d.builder().build();
    java.util.function.Function<org.junit.jupiter.api.function.Executable, String> refused =
        e -> assertThrows(GraphException.class, e).getMessage();
    assertEquals("conv2d 'c': kernelW must be >= 1, got 0", refused.apply(() -> Layers.conv2d(g, "c", x, 4, 3, 0, plain, Init.he())));
    assertEquals("conv2d 'c': kernelH must be >= 1, got -1", refused.apply(() -> Layers.conv2d(g, "c", x, 4, -1, 2, plain, Init.he())));
    assertEquals("conv2d 'c': filters must be >= 1, got 0", refused.apply(() -> Layers.conv2d(g, "c", x, 0, 3, 2, plain, Init.he())));
    assertEquals("conv2d 'c': kernel must be >= 1, got 0", refused.apply(() -> Layers.conv2d(g, "c", x, 4, 0, 1, Init.he())));
    assertEquals("conv2d 'c': padding must be >= 0, got -1", refused.apply(() -> Layers.conv2d(g, "c", x, 4, 3, -1, Init.he())));
    assertEquals("conv2d 'c': input 'x' has 3 channels, which do not divide into 2 groups",
        refused.apply(() -> Layers.conv2d(g, "c", x, 4, 3, 2, Conv2d.builder().groups(2).build(), Init.he())));
    assertNull(g.node("c.W"), "no parameter was made");
    assertEquals(Shape.batchOf(4, 6, 7), Layers.conv2d(g, "c", x, 4, 3, 2, plain, Init.he()).shape());
  }
}
