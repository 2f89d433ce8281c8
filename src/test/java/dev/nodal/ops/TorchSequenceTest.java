package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;

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
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What a language model does with token ids {@code [N, T]}, against PyTorch
 * ({@code fixtures/torch-sequence.json}) on both backends: {@code embedding} giving
 * {@code [N, T, D]} and its table's gradient, and {@code cross_entropy} / {@code nll_loss} of
 * logits {@code [N, T, V]} against targets {@code [N, T]}, averaged over all N·T positions, with
 * the gradient of the logits. The batch N is symbolic in every graph.
 */
class TorchSequenceTest {

  private static int[] ints(JsonNode a) {
    int[] v = new int[a.size()];
    for (int i = 0; i < v.length; i++) v[i] = a.get(i).asInt();
    return v;
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void embeddingOfTokenIdsMatchesPyTorch(String backendName) {
    JsonNode f = TorchFixtures.load("torch-sequence.json").get("embedding");
    int[] wShape = ints(f.get("w_shape")), idsShape = ints(f.get("ids_shape"));
    int n = idsShape[0], t = idsShape[1], d = wShape[1];
    float[] z = floats(f.get("z"));
    GraphBuilder g = new GraphBuilder(1);
    Param w = g.param("w", Init.zeros(), wShape);
    Input ids = g.labels("ids", wShape[0], t);
    Node emb = g.apply(new Embedding(), "emb", w, ids);
    Input target = g.input("target", t, d);
    Graph graph = g.build(g.apply(new Mse(), "loss", emb, target));
    assertEquals(Shape.batchOf(t, d), emb.shape());
    try (Backend b = OpenClTests.named(backendName);
        Session s = b.compile(graph, CompileOptions.maxBatch(n).keepAll())) {
      s.setParam(w, floats(f.get("w")));
      s.setLabels(ids, ints(f.get("ids")));
      s.setInput(target, TorchFixtures.mseTargetFor(z, floats(f.get("dy"))));
      s.forward();
      s.backward();
      assertClose(z, s.value(emb), "embedding on " + b.name());
      assertClose(floats(f.get("dw")), s.gradient(w), "d table on " + b.name());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void crossEntropyOverSequencesMatchesPyTorch(String backendName) {
    JsonNode f = TorchFixtures.load("torch-sequence.json").get("loss");
    int[] shape = ints(f.get("x_shape"));
    int n = shape[0], t = shape[1], v = shape[2];
    for (boolean fused : new boolean[] {true, false}) {
      // The logits are data plus a zero parameter; the kept sum node carries dL/dx.
      GraphBuilder g = new GraphBuilder(1);
      Input x = g.input("x", t, v);
      Node logits = g.apply(new Add(), "logits", x, g.param("zero", Init.zeros(), t, v));
      Input y = g.labels("y", v, t);
      Node loss = fused ? g.apply(new SoftmaxCrossEntropy(), "loss", logits, y)
          : g.apply(new Nll(), "loss", g.apply(new LogSoftmax(), "logp", logits), y);
      JsonNode expected = f.get(fused ? "cross_entropy" : "nll");
      try (Backend b = OpenClTests.named(backendName);
          Session s = b.compile(g.build(loss), CompileOptions.maxBatch(n).keepAll())) {
        s.setInput(x, floats(f.get("x")));
        s.setLabels(y, ints(f.get("targets")));
        s.forward();
        s.backward();
        String what = (fused ? "cross_entropy" : "nll_loss") + " on " + b.name();
        assertEquals((float) expected.get("loss").asDouble(), s.loss(), 2e-6, what);
        assertClose(floats(expected.get("dx")), s.gradient(logits), "d logits of " + what);
      }
    }
  }
}
