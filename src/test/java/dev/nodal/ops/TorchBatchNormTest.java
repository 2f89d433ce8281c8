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
import dev.nodal.graph.State;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Batch norm against PyTorch's {@code BatchNorm1d}/{@code BatchNorm2d} on both backends: one
 * training step (output, gradients of x, gamma and beta, running statistics after it), then the
 * output in evaluation mode from those running statistics.
 */
class TorchBatchNormTest {

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-batch-norm.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void batchNormMatchesPyTorch(String backendName, JsonNode c) {
    int[] shape = ints(c.get("shape"));
    int channels = shape[1];
    float[] z = floats(c.get("z")), target = TorchFixtures.mseTargetFor(z, floats(c.get("dy")));
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), shape);
    Param gamma = g.param("gamma", Init.zeros(), channels), beta = g.param("beta", Init.zeros(), channels);
    State mean = g.state("running_mean", Init.zeros(), channels);
    State var = g.state("running_var", Init.constant(1f), channels);
    BatchNorm op = BatchNorm.builder().momentum((float) c.get("momentum").asDouble()).eps((float) c.get("eps").asDouble())
        .build();
    Node bn = g.apply(op, "bn", x, gamma, beta, mean, var);
    Param t = g.param("t", Init.zeros(), shape);
    Graph graph = g.build(g.apply(new Mse(), "loss", bn, t));
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(1).keepAll())) {
      s.setParam(x, floats(c.get("x")));
      s.setParam(gamma, floats(c.get("gamma")));
      s.setParam(beta, floats(c.get("beta")));
      s.setParam(t, target);
      s.forward();
      s.backward();
      String on = " on " + backend.name();
      assertClose(z, s.value(bn), "z" + on);
      assertClose(floats(c.get("dx")), s.gradient(x), "dx" + on);
      assertClose(floats(c.get("dgamma")), s.gradient(gamma), "dgamma" + on);
      assertClose(floats(c.get("dbeta")), s.gradient(beta), "dbeta" + on);
      assertClose(floats(c.get("running_mean")), s.value(mean), "running mean" + on);
      assertClose(floats(c.get("running_var")), s.value(var), "running var" + on);
      s.setTraining(false);
      s.forward();
      assertClose(floats(c.get("z_eval")), s.value(bn), "z in evaluation mode" + on);
      assertClose(floats(c.get("running_var")), s.value(var), "running var after evaluation" + on);
    }
  }

  /** Batch norm writes its running statistics in place, so they must be state nodes. */
  @org.junit.jupiter.api.Test
  void runningStatisticsMustBeStates() {
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), 2, 3);
    Param gamma = g.param("gamma", Init.zeros(), 3), beta = g.param("beta", Init.zeros(), 3);
    Param notState = g.param("mean", Init.zeros(), 3);
    State var = g.state("var", Init.constant(1f), 3);
    var e = org.junit.jupiter.api.Assertions.assertThrows(dev.nodal.graph.GraphException.class,
        () -> g.apply(BatchNorm.builder().build(), "bn", x, gamma, beta, notState, var));
    org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("batch_norm 'bn'") && e.getMessage().contains("'mean'"),
        e.getMessage());
  }
}
