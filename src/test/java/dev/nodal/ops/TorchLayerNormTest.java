package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
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
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Layer norm against PyTorch's {@code layer_norm} and RMS norm against its formula
 * ({@code fixtures/torch-layer-norm.json}) on both backends, built through {@link Layers} over an
 * input with a symbolic batch: the output, and the gradients of x, gamma and beta under a given
 * upstream gradient (as the loss {@code MSE(z, z − dy·n/2)}, whose gradient with respect to z is dy).
 */
class TorchLayerNormTest {

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-layer-norm.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void normMatchesPyTorch(String backendName, JsonNode c) {
    int[] shape = ints(c.get("shape"));
    int[] example = Arrays.copyOfRange(shape, 1, shape.length);
    int width = shape[shape.length - 1];
    float eps = (float) c.get("eps").asDouble();
    boolean affine = c.get("affine").asBoolean();
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", example).requiresGrad();
    Node norm = "layer_norm".equals(c.get("kind").asText())
        ? Layers.layerNorm(g, "norm", x, width, new LayerNorm(eps, affine))
        : Layers.rmsNorm(g, "norm", x, width, new RMSNorm(eps, affine));
    Input t = g.input("t", example);
    Graph graph = g.build(g.apply(new Mse(), "loss", norm, t));
    Param gamma = graph.hasNode("norm.gamma") ? (Param) graph.node("norm.gamma") : null;
    Param beta = graph.hasNode("norm.beta") ? (Param) graph.node("norm.beta") : null;
    assertEquals(affine, gamma != null, "a gamma exactly when affine");
    assertEquals(c.has("beta"), beta != null, "a beta exactly for an affine layer norm");
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(shape[0]).keep("norm"))) {
      s.setInput(x, floats(c.get("x")));
      s.setInput(t, target);
      if (gamma != null) s.setParam(gamma, floats(c.get("gamma")));
      if (beta != null) s.setParam(beta, floats(c.get("beta")));
      s.forward();
      s.backward();
      String on = " on " + backend.name();
      assertClose(z, s.value(norm), "z" + on);
      assertClose(floats(c.get("dx")), s.gradient(x), "dx" + on);
      if (gamma != null) assertClose(floats(c.get("dgamma")), s.gradient(gamma), "dgamma" + on);
      if (beta != null) assertClose(floats(c.get("dbeta")), s.gradient(beta), "dbeta" + on);
    }
  }

  /** Widths that do not match the input, and bad eps, are refused before any parameter is made. */
  @Test
  void layersNameTheArgumentAtFault() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 8);
    java.util.function.Function<org.junit.jupiter.api.function.Executable, String> refused =
        e -> assertThrows(GraphException.class, e).getMessage();
    assertEquals("layer_norm 'ln': input 'x' [N, 3, 8] does not end in an axis of width 6",
        refused.apply(() -> Layers.layerNorm(g, "ln", x, 6)));
    assertEquals("rms_norm 'rms': width must be >= 1, got 0", refused.apply(() -> Layers.rmsNorm(g, "rms", x, 0)));
    assertNull(g.node("ln.gamma"), "no parameter was made");
    assertEquals("layer_norm: eps must be positive and finite, got 0.0",
        assertThrows(IllegalArgumentException.class, () -> new LayerNorm(0f, true)).getMessage());
    assertEquals(Shape.batchOf(3, 8), Layers.layerNorm(g, "ln", x, 8).shape());
    assertEquals(java.util.List.of("x", "gamma"), Layers.rmsNorm(g, "rms", x, 8).op().inputRoles());
  }

  /** Shapes that cannot be normalised are refused naming the node and the input at fault. */
  @Test
  void shapeErrorsNameTheNodeAndInput() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 8), flat = g.input("flat");
    Param gamma = g.param("g7", Init.zeros(), 7), beta = g.param("b8", Init.zeros(), 8);
    assertEquals("layer_norm 'ln': 'g7' [7] must have 8 elements, one per column of the last axis of input 'x' [N, 3, 8]",
        assertThrows(GraphException.class, () -> g.apply(new LayerNorm(), "ln", x, gamma, beta)).getMessage());
    assertEquals("rms_norm 'rms': input 'flat' [N] has only its batch dimension, which rms_norm would normalise "
        + "across examples; give it a feature axis",
        assertThrows(GraphException.class, () -> g.apply(new RMSNorm(1e-6f, false), "rms", flat)).getMessage());
  }
}
