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
 * Fused attention against PyTorch's attention written out ({@code fixtures/torch-attention.json}:
 * {@code softmax(scale·q·kᵀ, causally masked)·v}) on both backends, at rank 3 and 4, causal or not,
 * with Tq below, equal to and above Tk: the output, and the gradients of q, k and v under a given
 * upstream gradient (as the loss {@code MSE(z, z − dy·n/2)}).
 */
class TorchAttentionTest {

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-attention.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void matchesPyTorch(String backendName, JsonNode c) {
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Param q = g.param("q", Init.zeros(), ints(c.get("q_shape")));
    Param k = g.param("k", Init.zeros(), ints(c.get("k_shape")));
    Param v = g.param("v", Init.zeros(), ints(c.get("v_shape")));
    Node op = g.apply(new Attention(c.get("causal").asBoolean(), (float) c.get("scale").asDouble(), 0f, 0), "attn", q, k, v);
    Param t = g.param("t", Init.zeros(), ints(c.get("z_shape")));
    Graph graph = g.build(g.apply(new Mse(), "loss", op, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(q, floats(c.get("q")));
      s.setParam(k, floats(c.get("k")));
      s.setParam(v, floats(c.get("v")));
      s.setParam(t, target);
      s.forward();
      s.backward();
      assertClose(z, s.value(op), "z on " + backend.name());
      assertClose(floats(c.get("dq")), s.gradient(q), "dq on " + backend.name());
      assertClose(floats(c.get("dk")), s.gradient(k), "dk on " + backend.name());
      assertClose(floats(c.get("dv")), s.gradient(v), "dv on " + backend.name());
    }
  }
}
