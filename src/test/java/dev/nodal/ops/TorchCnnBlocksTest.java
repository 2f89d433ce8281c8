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
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Embedding (with a repeated index, whose gradients must sum), global average pooling and flatten
 * against PyTorch's {@code embedding} and {@code adaptive_avg_pool2d(x, 1).flatten(1)}, on both
 * backends.
 */
class TorchCnnBlocksTest {
  private static final JsonNode FIXTURE = TorchFixtures.load("torch-cnn-blocks.json");

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void embeddingMatchesPyTorch(String backendName) {
    JsonNode f = FIXTURE.get("embedding");
    int[] table = ints(f.get("weight_shape"));
    float[] indices = floats(f.get("indices")), z = floats(f.get("z"));
    int n = indices.length;
    GraphBuilder g = new GraphBuilder(1);
    Param w = g.param("w", Init.zeros(), table);
    Input idx = g.labels("idx", table[0]);
    Node e = g.apply(new Embedding(), "e", w, idx);
    Input t = g.input("t", table[1]);
    Graph graph = g.build(g.apply(new Mse(), "loss", e, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(n).keepAll())) {
      s.setParam(w, floats(f.get("weight")));
      s.setInput(idx, indices);
      s.setInput(t, TorchFixtures.mseTargetFor(z, floats(f.get("dy"))));
      s.forward();
      s.backward();
      assertClose(z, s.value(e), "z on " + backend.name());
      assertClose(floats(f.get("dweight")), s.gradient(w), "dweight on " + backend.name());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void globalAveragePoolingMatchesPyTorch(String backendName) {
    JsonNode f = FIXTURE.get("global_avg_pool");
    int[] shape = ints(f.get("x_shape"));
    float[] z = floats(f.get("z"));
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), shape);
    Node pooled = g.apply(new GlobalAvgPool2d(), "gap", x);
    Node flat = g.apply(Reshape.flatten(), "flat", pooled);
    Param t = g.param("t", Init.zeros(), shape[0], shape[1]);
    Graph graph = g.build(g.apply(new Mse(), "loss", flat, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(x, floats(f.get("x")));
      s.setParam(t, TorchFixtures.mseTargetFor(z, floats(f.get("dy"))));
      s.forward();
      s.backward();
      assertClose(z, s.value(flat), "z on " + backend.name());
      assertClose(floats(f.get("dx")), s.gradient(x), "dx on " + backend.name());
    }
  }
}
