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

/** Max and average pooling against PyTorch's {@code max_pool2d} and {@code avg_pool2d}, on both backends. */
class TorchPool2dTest {

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-pool2d.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void poolingMatchesPyTorch(String backendName, JsonNode c) {
    JsonNode f = TorchFixtures.load("torch-pool2d.json");
    int k = c.get("kernel").asInt(), st = c.get("stride").asInt(), pd = c.get("padding").asInt();
    Pool2d op = c.get("max").asBoolean() ? Pool2d.max(k, st, pd) : Pool2d.avg(k, st, pd);
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), ints(f.get("x_shape")));
    Node pool = g.apply(op, "pool", x);
    Param t = g.param("t", Init.zeros(), ints(c.get("z_shape")));
    Graph graph = g.build(g.apply(new Mse(), "loss", pool, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(x, floats(f.get("x")));
      s.setParam(t, target);
      s.forward();
      s.backward();
      assertClose(z, s.value(pool), "z on " + backend.name());
      assertClose(floats(c.get("dx")), s.gradient(x), "dx on " + backend.name());
    }
  }
}
