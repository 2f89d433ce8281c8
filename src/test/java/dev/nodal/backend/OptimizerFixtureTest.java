package dev.nodal.backend;

import static dev.nodal.testkit.TorchFixtures.floats;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Add;
import dev.nodal.ops.Mse;
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Optimizers;
import dev.nodal.optim.Schedule;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * SGD (momentum, Nesterov), Adam, AdamW and clipping by the global gradient norm, on both
 * backends, against PyTorch's values in {@code fixtures/torch-optimizers.json} (written once by
 * {@code scripts/torch_fixtures.py}): the gradients of each step are given, the parameters after
 * each step and the final state are compared. Also the learning-rate schedules.
 */
class OptimizerFixtureTest {
  /** PyTorch's state names, in the order of each optimizer's slots. */
  private static final Map<String, String> TORCH_SLOT = Map.of("momentum", "momentum_buffer", "exp_avg", "exp_avg",
      "exp_avg_sq", "exp_avg_sq");

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(fixture().get("cases"));
  }

  static JsonNode fixture() {
    return TorchFixtures.load("torch-optimizers.json");
  }

  /** Parameters a[7] and b[3] under a loss that only makes backward() legal: gradients are given. */
  private static Graph twoParams(float[] a, float[] b) {
    GraphBuilder g = new GraphBuilder(1);
    Param pa = g.param("a", Init.zeros(), a.length), pb = g.param("b", Init.zeros(), b.length);
    Node loss = g.apply(new Add(), "loss", g.apply(new Mse(), "la", pa, pa), g.apply(new Mse(), "lb", pb, pb));
    return g.build(loss);
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void matchesPyTorch(String backendName, JsonNode c) {
    JsonNode root = fixture();
    float[] a0 = floats(root.get("params").get("a")), b0 = floats(root.get("params").get("b"));
    Graph g = twoParams(a0, b0);
    Param a = (Param) g.node("a"), b = (Param) g.node("b");
    Map<String, Object> hyper = new HashMap<>();
    c.get("hyper").fields().forEachRemaining(e -> hyper.put(e.getKey(), e.getValue().isBoolean()
        ? (Object) e.getValue().asBoolean() : (Object) (float) e.getValue().asDouble()));
    if (!c.get("clip_norm").isNull()) hyper.put("clip_norm", (float) c.get("clip_norm").asDouble());
    Optimizer opt = Optimizers.spec(c.get("optimizer").asText(), hyper).make();
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(g, 1)) {
      s.setParam(a, a0);
      s.setParam(b, b0);
      s.setOptimizer(opt);
      JsonNode grads = root.get("grads"), after = c.get("after");
      for (int t = 0; t < grads.size(); t++) {
        s.forward();
        s.backward();
        float[] ga = floats(grads.get(t).get("a")), gb = floats(grads.get(t).get("b"));
        float[] packed = new float[ga.length + gb.length];
        System.arraycopy(ga, 0, packed, 0, ga.length);
        System.arraycopy(gb, 0, packed, ga.length, gb.length);
        s.setGradients(packed);
        s.update();
        assertClose(floats(after.get(t).get("a")), s.value(a), "a after step " + (t + 1));
        assertClose(floats(after.get(t).get("b")), s.value(b), "b after step " + (t + 1));
      }
      for (Param p : List.of(a, b)) {
        float[][] state = s.optimizerState(p);
        for (int k = 0; k < opt.slots().size(); k++) {
          assertClose(floats(c.get("state").get(p.name()).get(TORCH_SLOT.get(opt.slots().get(k)))), state[k],
              p.name() + " " + opt.slots().get(k));
        }
      }
      if (!c.get("step").isNull()) assertEquals(c.get("step").asLong(), opt.step());
    }
  }

  @Test
  void aScheduleMayBringTheRateToZero() {
    Schedule s = new Schedule("step", Map.of("step_size", 3.0, "gamma", 0.0));
    assertEquals(0.0, s.learningRate(0.1, 3, 10));
    Optimizer sgd = dev.nodal.optim.Sgd.builder().learningRate(0.1f).build().schedule(s, 10);
    assertEquals(0.1f, sgd.learningRate(), "the first update's rate, before any has begun");
    for (int t = 1; t <= 3; t++) sgd.beginStep();
    assertEquals(0.1f, sgd.learningRate(), "update 3 runs at step 2's rate");
    sgd.beginStep();
    assertEquals(0f, sgd.learningRate(), "update 4 at step 3's");
  }

  /**
   * An attached schedule gives each update the rate of the optimizer's own step count, as the
   * trainer used to set it by hand before every step: bit for bit, also after a restored step.
   */
  @Test
  void anAttachedScheduleGivesTheRatesTheTrainerSetByHand() {
    float base = 0.05f;
    long total = 40;
    for (Schedule s : List.of(new Schedule("cosine", Map.of()), new Schedule("cosine", Map.of("min_lr", 0.001,
        "warmup_steps", 7.0, "warmup_start", 0.2)), new Schedule("step", Map.of("step_size", 9.0, "gamma", 0.5)),
        new Schedule("constant", Map.of("warmup_steps", 5.0)))) {
      Optimizer opt = dev.nodal.optim.Sgd.builder().learningRate(base).momentum(0.9f).build().schedule(s, total);
      Optimizer resumed = dev.nodal.optim.Sgd.builder().learningRate(base).momentum(0.9f).build().schedule(s, total);
      for (long step = 0; step < total; step++) {
        float byHand = (float) s.learningRate(base, step, total);
        opt.beginStep();
        assertEquals(Float.floatToIntBits(byHand), Float.floatToIntBits(opt.learningRate()), s + " at step " + step);
        assertEquals(byHand, opt.hyperParameters()[0], s + " at step " + step);
        if (step == 17) resumed.setStep(18);
        else if (step > 17) resumed.beginStep();
        if (step >= 17) assertEquals(Float.floatToIntBits(byHand), Float.floatToIntBits(resumed.learningRate()));
      }
    }
  }

  @Test
  void schedulesMatchPyTorch() {
    for (JsonNode c : fixture().get("schedules")) {
      JsonNode h = c.get("hyper");
      Schedule s = switch (c.get("name").asText()) {
        case "step" -> new Schedule("step", Map.of("step_size", h.get("step_size").asDouble(), "gamma", h.get("gamma").asDouble()));
        case "cosine" -> new Schedule("cosine", Map.of("t_max", h.get("t_max").asDouble(), "min_lr", h.get("eta_min").asDouble()));
        case "warmup_linear" -> new Schedule("constant", Map.of("warmup_steps", h.get("total_iters").asDouble(),
            "warmup_start", h.get("start_factor").asDouble()));
        default -> throw new AssertionError("a schedule the fixture has and this test does not: " + c.get("name"));
      };
      JsonNode lr = c.get("lr");
      for (int t = 0; t < lr.size(); t++) {
        assertEquals(lr.get(t).asDouble(), s.learningRate(0.1, t, 1000), 1e-12, c.get("name").asText() + " at step " + t);
      }
    }
  }

  /**
   * A cosine with a warm-up is PyTorch's {@code ChainedScheduler([LinearLR, CosineAnnealingLR])},
   * eta_min included, step by step and past T_max; a run whose T_max is its length gives no t_max.
   */
  @Test
  void warmupIntoCosineMatchesPyTorchsChainedScheduler() {
    int runs = 0, steps = 0;
    double worst = 0;
    for (JsonNode c : fixture().get("warmup_cosine")) {
      JsonNode h = c.get("hyper");
      int total = h.get("steps").asInt();
      Map<String, Double> p = new java.util.HashMap<>(Map.of("min_lr", h.get("min_lr").asDouble(),
          "warmup_steps", h.get("warmup_steps").asDouble(), "warmup_start", h.get("warmup_start").asDouble()));
      if (h.get("t_max").asInt() != total) p.put("t_max", h.get("t_max").asDouble());
      Schedule s = new Schedule("cosine", p);
      JsonNode lr = c.get("lr");
      for (int t = 0; t < lr.size(); t++) {
        double expected = lr.get(t).asDouble(), actual = s.learningRate(c.get("base").asDouble(), t, total);
        double relative = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-9); // 0 at a minimum of 0
        worst = Math.max(worst, relative);
        assertTrue(relative <= 1e-6, h + " at step " + t + ": " + actual + ", PyTorch " + expected);
        steps++;
      }
      runs++;
    }
    System.out.printf("warm-up into cosine: %d runs, %d steps, largest relative difference from PyTorch %.1e%n", runs,
        steps, worst);
    assertTrue(runs >= 7 && steps > 1000, runs + " runs");
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 2e-6 + 1e-5 * Math.abs(expected[i]), what + " at " + i);
    }
  }
}
