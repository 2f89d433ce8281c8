package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertEquals;

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

  /**
   * {@code Layers.batchNorm} with PyTorch's {@code momentum=0.3, eps=1e-3}. The batch statistics are
   * PyTorch's, recovered from the fixture (taken at momentum 0.1 from zero mean and unit variance:
   * {@code mean = running_mean/0.1}, unbiased {@code var = (running_var − 0.9)/0.1}); one training
   * forward must move the running statistics by 0.3 of the way, and both modes use eps 1e-3.
   */
  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void layersBatchNormTakesMomentumAndEps(String backendName, JsonNode c) {
    int[] shape = ints(c.get("shape"));
    int n = shape[0], channels = shape[1], m = java.util.Arrays.stream(shape).reduce(1, (a, b) -> a * b) / channels;
    int spatial = m / n;
    float momentum = 0.3f, eps = 1e-3f;
    GraphBuilder g = new GraphBuilder(1);
    dev.nodal.graph.Input x = g.input("x", java.util.Arrays.copyOfRange(shape, 1, shape.length));
    Node bn = Layers.batchNorm(g, "bn", x, BatchNorm.builder().momentum(momentum).eps(eps).build());
    assertEquals(java.util.Map.of("momentum", momentum, "eps", eps), ((dev.nodal.graph.Apply) bn).op().attributes());
    dev.nodal.graph.Input t = g.input("t", java.util.Arrays.copyOfRange(shape, 1, shape.length));
    Graph graph = g.build(g.apply(new Mse(), "loss", bn, t));
    float[] xs = floats(c.get("x")), gamma = floats(c.get("gamma")), beta = floats(c.get("beta"));
    float[] rm = floats(c.get("running_mean")), rv = floats(c.get("running_var"));
    double[] mean = new double[channels], unbiased = new double[channels];
    float[] rmExpected = new float[channels], rvExpected = new float[channels];
    for (int k = 0; k < channels; k++) {
      mean[k] = rm[k] / 0.1;
      unbiased[k] = (rv[k] - 0.9) / 0.1;
      rmExpected[k] = (float) (momentum * mean[k]);
      rvExpected[k] = (float) (1 - momentum + momentum * unbiased[k]);
    }
    float[] zTrain = new float[xs.length], zEval = new float[xs.length];
    for (int i = 0; i < xs.length; i++) {
      int k = i / spatial % channels;
      double biased = m == 1 ? unbiased[k] : unbiased[k] * (m - 1) / m;
      zTrain[i] = (float) (gamma[k] * (xs[i] - mean[k]) / Math.sqrt(biased + eps) + beta[k]);
      zEval[i] = (float) (gamma[k] * (xs[i] - rmExpected[k]) / Math.sqrt(rvExpected[k] + eps) + beta[k]);
    }
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(n).keepAll())) {
      s.setParam(graph.params().get(0), gamma);
      s.setParam(graph.params().get(1), beta);
      s.setInput(x, xs);
      s.setInput(t, new float[xs.length]);
      s.forward();
      String on = " on " + backend.name();
      assertNear(zTrain, s.value(bn), "z with eps 1e-3" + on);
      assertNear(rmExpected, s.value(graph.node("bn.running_mean")), "running mean at momentum 0.3" + on);
      assertNear(rvExpected, s.value(graph.node("bn.running_var")), "running var at momentum 0.3" + on);
      s.setTraining(false);
      s.forward();
      assertNear(zEval, s.value(bn), "z in evaluation mode with eps 1e-3" + on);
    }
  }

  /** Within 1e-5 relative: these expectations are derived from PyTorch's float32 values, not taken as they are. */
  private static void assertNear(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-5 * Math.max(1, Math.abs(expected[i])), what + " at element " + i);
    }
  }

  /** Momentum and eps out of range are refused as they are set, naming the argument. */
  @org.junit.jupiter.api.Test
  void momentumAndEpsAreCheckedNamingTheArgument() {
    java.util.function.Function<org.junit.jupiter.api.function.Executable, String> refused =
        e -> org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, e).getMessage();
    assertEquals("batch_norm: momentum must be in [0, 1], got 1.5", refused.apply(() -> BatchNorm.builder().momentum(1.5f)));
    assertEquals("batch_norm: momentum must be in [0, 1], got NaN", refused.apply(() -> BatchNorm.builder().momentum(Float.NaN)));
    assertEquals("batch_norm: eps must be positive and finite, got 0.0", refused.apply(() -> BatchNorm.builder().eps(0f)));
    assertEquals("batch_norm: eps must be positive and finite, got Infinity",
        refused.apply(() -> BatchNorm.builder().eps(Float.POSITIVE_INFINITY)));
    assertEquals("batch_norm: attribute 'eps' is -1.0; it must be greater than 0",
        refused.apply(() -> OpCatalogue.create("batch_norm", java.util.Map.of("eps", -1.0))));
    GraphBuilder g = new GraphBuilder(1);
    dev.nodal.graph.Input x = g.input("x", 3);
    assertEquals("batch_norm 'bn': op is null; pass BatchNorm.builder().build()", org.junit.jupiter.api.Assertions
        .assertThrows(dev.nodal.graph.GraphException.class, () -> Layers.batchNorm(g, "bn", x, null)).getMessage());
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
