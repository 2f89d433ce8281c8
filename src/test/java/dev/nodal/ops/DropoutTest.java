package dev.nodal.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.OpenClTests;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * What dropout promises beyond its gradient check and parity: the drop rate, the scale, identity
 * in evaluation mode, a new mask after each update, and the same masks on every backend.
 */
class DropoutTest {
  private static final int N = 64, F = 1000;

  /** x [N, F] of ones through dropout, into an MSE against a parameter (so that updates happen). */
  private static float[][] run(String backendName, int steps) {
    GraphBuilder g = new GraphBuilder(3);
    Input x = g.input("x", F);
    Node d = g.apply(new Dropout(0.25f, 42), "drop", x);
    Param w = g.param("w", Init.zeros(), F);
    Node y = g.apply(new dev.nodal.ops.Add(), "y", d, w);
    Input t = g.input("t", F);
    Graph graph = g.build(g.apply(new Mse(), "loss", y, t));
    float[] ones = new float[N * F];
    Arrays.fill(ones, 1f);
    float[][] out = new float[steps + 1][];
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(graph, CompileOptions.maxBatch(N).keep("drop"))) {
      s.setOptimizer(Sgd.builder().learningRate(0.1f).build());
      s.setInput(x, ones);
      s.setInput(t, new float[N * F]);
      for (int k = 0; k < steps; k++) {
        s.forward();
        out[k] = s.value(d);
        s.backward();
        s.update();
      }
      s.setTraining(false);
      s.forward();
      out[steps] = s.value(d);
    }
    return out;
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void dropsAtTheRateAndScalesTheRest(String backend) {
    float[][] masks = run(backend, 2);
    long dropped = 0;
    for (float v : masks[0]) {
      if (v == 0f) dropped++;
      else assertEquals(1f / 0.75f, v, 1e-6f, "a kept element is scaled by 1/(1 - p)");
    }
    double rate = (double) dropped / masks[0].length;
    assertEquals(0.25, rate, 0.01, "drop rate over " + masks[0].length + " elements");
    assertNotEquals(Arrays.toString(masks[0]), Arrays.toString(masks[1]), "each step draws a new mask");
    float[] ones = new float[N * F];
    Arrays.fill(ones, 1f);
    assertArrayEquals(ones, masks[2], "evaluation mode is the identity");
  }

  @org.junit.jupiter.api.Test
  void bothBackendsDrawTheSameMasks() {
    float[][] cpu = run("cpu", 3), device = run("opencl", 3);
    for (int k = 0; k < cpu.length; k++) {
      for (int i = 0; i < cpu[k].length; i++) {
        assertEquals(cpu[k][i] == 0f, device[k][i] == 0f, "step " + k + ", element " + i);
      }
    }
  }
}
