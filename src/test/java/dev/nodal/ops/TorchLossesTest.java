package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * LogSoftmax, Softmax and NLL against PyTorch's {@code log_softmax}, {@code softmax} and {@code nll_loss}
 * ({@code fixtures/torch-losses.json}, from {@code scripts/torch_fixtures.py}), on both backends:
 * the log-probabilities and their gradient for a given upstream gradient, and the loss of the pair
 * with its gradient with respect to the scores.
 */
class TorchLossesTest {

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void logSoftmaxAndNllMatchPyTorch(String backendName) {
    JsonNode f = TorchFixtures.load("torch-losses.json");
    float[] x = floats(f.get("x"));
    float[] labels = new float[f.get("labels").size()];
    for (int i = 0; i < labels.length; i++) labels[i] = f.get("labels").get(i).asInt();
    int rows = labels.length, cols = x.length / rows;

    // The scores are data plus a zero parameter, so the parameter's gradient row-sums dL/dx; the
    // kept log-softmax node carries dL/dx itself.
    GraphBuilder g = new GraphBuilder(1);
    Input in = g.input("x", cols);
    Node scores = g.apply(new Add(), "scores", in, g.param("zero", Init.zeros(), cols));
    Node logp = g.apply(new LogSoftmax(), "logp", scores);
    Input y = g.labels("y", cols);
    Graph graph = g.build(g.apply(new Nll(), "loss", logp, y));
    try (Backend b = OpenClTests.named(backendName);
        Session s = b.compile(graph, CompileOptions.maxBatch(rows).keepAll())) {
      s.setInput(in, x);
      s.setInput(y, labels);
      s.forward();
      s.backward();
      assertClose(floats(f.get("log_softmax").get("z")), s.value(logp), "log_softmax on " + b.name());
      assertEquals((float) f.get("nll_of_log_softmax").get("loss").asDouble(), s.loss(), 2e-6, "nll on " + b.name());
      assertClose(floats(f.get("nll_of_log_softmax").get("dx")), s.gradient(scores), "d nll / d x on " + b.name());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"log_softmax", "softmax"})
  void softmaxAndLogSoftmaxMatchPyTorchForAGivenGradient(String name) {
    JsonNode f = TorchFixtures.load("torch-losses.json");
    float[] x = floats(f.get("x")), dy = floats(f.get("dy"));
    int rows = f.get("labels").size(), cols = x.length / rows;
    Shape shape = Shape.of(rows, cols);
    CpuTensor out = CpuTensor.zeros(shape), dx = CpuTensor.zeros(shape);
    CpuTensor[] inputs = {new CpuTensor(x, shape)};
    Op op = name.equals("softmax") ? new Softmax() : new LogSoftmax();
    op.forward(Pass.of(true, 0), inputs, out);
    op.backward(Pass.of(true, 0), inputs, out, new CpuTensor(dy, shape), new CpuTensor[] {dx});
    assertClose(floats(f.get(name).get("z")), out.data, name + " z");
    assertClose(floats(f.get(name).get("dx")), dx.data, name + " dx");
  }
}
