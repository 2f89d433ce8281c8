package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Add;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.ops.Tanh;
import dev.nodal.testkit.Models;
import dev.nodal.optim.Sgd;
import org.junit.jupiter.api.Test;

/** The engine on the CPU: gradient flow through whole graphs, fan-out, deep graphs, bad input. */
class CpuExecutionTest {

  @Test
  void sharedWeightReceivesTheSumOfBothGradients() {
    Graph g = Models.sharedWeight(3, 4);
    try (Session s = Backends.cpu().compile(g, CompileOptions.maxBatch(8).keep("h1"))) {
      s.setInput((Input) g.node("x"), Models.uniform(5 * 4, 1));
      s.setInput((Input) g.node("t"), Models.uniform(5 * 4, 2));
      GradientCheck.graph(s, 9).assertPassed("shared weight");

      // The same sum, seen directly: one use's contribution alone is not the gradient.
      float[] total = s.gradient(g.node("W"));
      float[] viaUse2Only = oneUseGradient(g, s);
      boolean differs = false;
      for (int i = 0; i < total.length; i++) differs |= Math.abs(total[i] - viaUse2Only[i]) > 1e-4;
      assertTrue(differs, "W's gradient must include the first use too");
    }
  }

  /** W's gradient when only its second use is differentiated: hold h1 fixed as data. */
  private static float[] oneUseGradient(Graph shared, Session s) {
    float[] h1 = s.value(shared.node("h1"));
    GraphBuilder g = new GraphBuilder(3);
    Input h = g.input("h1", 4);
    Input t = g.input("t", 4);
    Param w = g.param("W", Init.zeros(), 4, 4);
    Param b2 = g.param("b2", Init.zeros(), 4);
    Node o = g.apply(new Tanh(), "h2", g.apply(new dev.nodal.ops.Dense(), "use2", h, w, b2));
    Graph single = g.build(g.apply(new Mse(), "loss", o, t));
    try (Session one = Backends.cpu().compile(single, 8)) {
      one.setParam(w, s.value(shared.node("W")));
      one.setParam(b2, s.value(shared.node("b2")));
      one.setInput(h, h1);
      one.setInput(t, Models.uniform(5 * 4, 2));
      one.forward();
      one.backward();
      return one.gradient(w);
    }
  }

  @Test
  void fanOutOfOneActivationSumsGradients() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Input t = g.input("t", 3);
    Param p = g.param("p", Init.normal(0, 1), 3);
    Node a = g.apply(new Tanh(), "a", g.apply(new Add(), "xp", x, p));
    Node sq = g.apply(new Mul(), "a_squared", a, a); // a feeds one node twice
    Graph graph = g.build(g.apply(new Mse(), "loss", g.apply(new Add(), "sum", sq, a), t));
    try (Session s = Backends.cpu().compile(graph, 4)) {
      s.setInput(x, Models.uniform(6, 1));
      s.setInput(t, Models.uniform(6, 2));
      GradientCheck.graph(s, 1).assertPassed("fan-out");
    }
  }

  @Test
  void scaledSumOfTwoLossesBackpropagates() {
    Graph g = Models.twoLosses(4, 5, 3);
    try (Session s = Backends.cpu().compile(g, CompileOptions.maxBatch(8).keep("ce", "mse"))) {
      s.setInput((Input) g.node("x"), Models.uniform(6 * 5, 1));
      s.setInput((Input) g.node("y"), Models.classes(6, 3, 2));
      s.setInput((Input) g.node("t"), Models.uniform(6 * 3, 3));
      GradientCheck.graph(s, 2).assertPassed("two losses");
      s.forward();
      float expected = 0.3f * s.value(g.node("ce"))[0] + 2f * s.value(g.node("mse"))[0];
      assertEquals(expected, s.loss(), 1e-6);
    }
  }

  @Test
  void mlpGradientAtBatchOne() {
    Graph g = Models.mlp(5, 4, 6, 3);
    try (Session s = Backends.cpu().compile(g, 8)) {
      s.setInput((Input) g.node("x"), Models.uniform(4, 1));
      s.setInput((Input) g.node("y"), new float[] {2});
      GradientCheck.graph(s, 3).assertPassed("mlp batch 1");
    }
  }

  @Test
  void tenThousandNodeChainBuildsAndRuns() {
    int depth = 10_000;
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 2);
    Input t = g.input("t", 2);
    Param p = g.param("p", Init.constant(0.5f), 2);
    Node h = g.apply(new Add(), "start", x, p);
    for (int i = 0; i < depth; i++) h = g.apply(new Tanh(), "t" + i, h);
    Graph graph = g.build(g.apply(new Mse(), "loss", h, t));
    assertEquals(depth + 5, graph.size());
    try (Session s = Backends.cpu().compile(graph, 1)) {
      s.setInput(x, new float[] {0.1f, -0.2f});
      s.setInput(t, new float[] {0f, 0f});
      s.forward();
      s.backward();
      float[] grad = s.gradient(p);
      assertTrue(Float.isFinite(grad[0]) && grad[0] != 0f, "gradient reached the parameter: " + grad[0]);
    }
  }

  @Test
  void nodesWithoutAParameterUpstreamGetNoGradient() {
    Graph g = Models.mlp(1, 3, 4, 2);
    try (Session s = Backends.cpu().compile(g, 2)) {
      s.setInput((Input) g.node("x"), Models.uniform(6, 1));
      s.setInput((Input) g.node("y"), new float[] {0, 1});
      s.forward();
      s.backward();
      GraphException e = assertThrows(GraphException.class, () -> s.gradient(g.node("x")));
      assertTrue(e.getMessage().contains("input 'x' has no gradient"), e.getMessage());
    }
  }

  @Test
  void badBatchesAreRejectedWithTheInputsName() {
    Graph g = Models.mlp(1, 3, 4, 2);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    try (Session s = Backends.cpu().compile(g, 2)) {
      assertEquals("labels 'y': value 2.0 at element 1 is not a class index in [0, 2)",
          assertThrows(GraphException.class, () -> s.setInput(y, new float[] {0, 2})).getMessage());
      assertEquals("labels 'y': value 0.5 at element 0 is not a class index in [0, 2)",
          assertThrows(GraphException.class, () -> s.setInput(y, new float[] {0.5f})).getMessage());
      assertEquals("input 'x': value NaN at element 4 is not finite",
          assertThrows(GraphException.class, () -> s.setInput(x, new float[] {0, 0, 0, 0, Float.NaN, 0})).getMessage());
      assertEquals("input 'x': 4 values are not a whole number of examples of 3",
          assertThrows(GraphException.class, () -> s.setInput(x, new float[4])).getMessage());
      assertEquals("input 'x': batch of 3 exceeds the session's maximum of 2",
          assertThrows(GraphException.class, () -> s.setInput(x, new float[9])).getMessage());
      s.setInput(x, new float[6]);
      s.setInput(y, new float[] {1});
      assertEquals("input 'x' holds 2 examples, the last input set holds 1",
          assertThrows(GraphException.class, s::forward).getMessage());
    }
  }

  @Test
  void partialBatchMatchesTheSameRowsRunAlone() {
    Graph g = Models.mlp(2, 3, 5, 4);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    float[] xs = Models.uniform(3 * 3, 1);
    float[] ys = {1, 3, 0};
    try (Session big = Backends.cpu().compile(g, 64); Session exact = Backends.cpu().compile(g, 3)) {
      for (Session s : new Session[] {big, exact}) {
        s.setInput(x, xs);
        s.setInput(y, ys);
        s.forward();
        s.backward();
      }
      assertEquals(exact.loss(), big.loss());
      assertArrayEquals(exact.gradient(g.node("fc1.W")), big.gradient(g.node("fc1.W")));
    }
  }

  @Test
  void sgdStepMovesAgainstTheGradientAndGradientsReset() {
    Graph g = Models.mlp(2, 3, 5, 4);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    Param w = (Param) g.node("fc2.W");
    try (Session s = Backends.cpu().compile(g, 4)) {
      s.setOptimizer(new Sgd(0.1f));
      s.setInput(x, Models.uniform(12, 1));
      s.setInput(y, new float[] {0, 1, 2, 3});
      float[] before = s.value(w);
      s.forward();
      s.backward();
      float[] grad = s.gradient(w);
      s.update();
      float[] after = s.value(w);
      for (int i = 0; i < before.length; i++) assertEquals(before[i] - 0.1f * grad[i], after[i], 1e-7);
      s.forward();
      s.backward();
      float[] again = s.gradient(w);
      s.forward();
      s.backward(); // gradients are written afresh, not accumulated across steps
      assertArrayEquals(again, s.gradient(w));
    }
  }
}
