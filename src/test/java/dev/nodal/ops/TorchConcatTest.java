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
}
