package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.ops.Add;
import dev.nodal.ops.Layers;
import dev.nodal.ops.Relu;
import dev.nodal.ops.Reshape;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.plan.Keep;
import dev.nodal.plan.Planner;
import dev.nodal.plan.StepPlan;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.train.ModelZoo;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Views (reshape): the plan gives them their input's memory, so no copy runs; the gradient is
 * shared only when the input feeds nothing else, since other consumers add into it with their own
 * first-write flags.
 */
class ViewTest {

  @Test
  void theCnnsFlattenSharesMemoryAndLaunchesNothing() {
    Graph cnn = ModelZoo.cnn(1, 784, 10, false);
    Planner planner = new Planner(cnn, 16, new Keep(false, Set.of()), DeviceTraits.CPU);
    StepPlan plan = planner.plan();
    Node flatten = cnn.node("flatten"), pool = cnn.node("pool2");
    assertEquals(plan.value(pool), plan.value(flatten));
    assertEquals(plan.gradient(pool), plan.gradient(flatten));
    StepPlan.Steps steps = planner.steps(16);
    assertTrue(steps.forward().stream().noneMatch(l -> l.node().equals("flatten")), "no forward launch");
    assertTrue(steps.backward().stream().noneMatch(l -> l.node().equals("flatten")), "no backward launch");
    assertTrue(plan.firstWrites(flatten).isEmpty(), "the view's backward writes nothing of its own");
  }

  /**
   * x → tanh "a" → reshape "v" (twice: a view of a view) → dense, and with {@code fanOut} "a"
   * also feeds an Add beside the views, so its gradient cannot be shared.
   */
  private static Graph graph(boolean fanOut) {
    GraphBuilder g = new GraphBuilder(5);
    Input x = g.input("x", 3, 4);
    Input y = g.labels("y", 3);
    Node a = g.apply(new Tanh(), "a", Layers.dense(g, "d0", g.apply(Reshape.flatten(), "xf", x), 12, Init.he()));
    Node v = g.apply(new Reshape(2, 6), "v1", a);
    v = g.apply(Reshape.flatten(), "v2", v);
    if (fanOut) v = g.apply(new Add(), "sum", v, g.apply(new Relu(), "side", a));
    Node logits = Layers.dense(g, "out", v, 3, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }

  @Test
  void aGradientIsSharedOnlyWithoutFanOut() {
    for (boolean fanOut : new boolean[] {false, true}) {
      Graph g = graph(fanOut);
      StepPlan plan = new Planner(g, 8, new Keep(false, Set.of()), DeviceTraits.CPU).plan();
      assertEquals(plan.value(g.node("a")), plan.value(g.node("v2")), "values are shared either way");
      if (fanOut) assertNotEquals(plan.gradient(g.node("a")), plan.gradient(g.node("v1")));
      else assertEquals(plan.gradient(g.node("a")), plan.gradient(g.node("v2")));
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void gradientsThroughViewsPassTheCheck(boolean fanOut) {
    Graph g = graph(fanOut);
    try (Backend cpu = Backends.cpu(); Session s = cpu.compile(g, CompileOptions.maxBatch(8))) {
      s.setInput((Input) g.node("x"), Models.uniform(8 * 12, 3));
      s.setInput((Input) g.node("y"), Models.classes(8, 3, 4));
      GradientCheck.graph(s, 11).assertPassed("views, fan-out " + fanOut);
    }
  }

  @ParameterizedTest
  @ValueSource(booleans = {false, true})
  void viewsMatchBetweenBackends(boolean fanOut) {
    Graph g = graph(fanOut);
    Map<String, float[]> inputs = new HashMap<>();
    inputs.put("x", Models.uniform(8 * 12, 3));
    inputs.put("y", Models.classes(8, 3, 4));
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu()) {
      Parity.Report r = Parity.compare(g, device, cpu, inputs);
      assertTrue(r.ok(), r.format());
    }
  }
}
