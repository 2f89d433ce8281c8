package dev.nodal.ops;

import static dev.nodal.ops.TorchActivationsTest.assertClose;
import static dev.nodal.ops.TorchActivationsTest.floats;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.testkit.OpenClTests;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Max and average pooling against PyTorch's {@code max_pool2d} and {@code avg_pool2d}, on both backends. */
class TorchPool2dTest {
  static JsonNode fixture() throws IOException {
    try (InputStream in = TorchPool2dTest.class.getResourceAsStream("/fixtures/torch-pool2d.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  static Stream<Arguments> cases() throws IOException {
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : fixture().get("cases")) {
      for (String backend : List.of("cpu", "opencl")) out.add(Arguments.of(backend, Named.of(c.get("name").asText(), c)));
    }
    return out.stream();
  }

  private static int[] ints(JsonNode a) {
    int[] v = new int[a.size()];
    for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
    return v;
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void poolingMatchesPyTorch(String backendName, JsonNode c) throws IOException {
    JsonNode f = fixture();
    int k = c.get("kernel").asInt(), st = c.get("stride").asInt(), pd = c.get("padding").asInt();
    Pool2d op = c.get("max").asBoolean() ? Pool2d.max(k, st, pd) : Pool2d.avg(k, st, pd);
    float[] z = floats(c.get("z")), dy = floats(c.get("dy")), target = new float[z.length];
    for (int i = 0; i < z.length; i++) target[i] = z[i] - dy[i] * z.length / 2f; // dMSE/dz = dy
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), ints(f.get("x_shape")));
    Node pool = g.apply(op, "pool", x);
    Param t = g.param("t", Init.zeros(), ints(c.get("z_shape")));
    Graph graph = g.build(g.apply(new Mse(), "loss", pool, t));
    try (Backend backend = backendName.equals("cpu") ? Backends.cpu() : OpenClTests.backend();
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
