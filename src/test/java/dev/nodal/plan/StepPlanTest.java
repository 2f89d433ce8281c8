package dev.nodal.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Node;
import dev.nodal.ops.Tanh;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import dev.nodal.train.ModelZoo;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The step plan, checked without a device. */
class StepPlanTest {
  private static final DeviceTraits GPU = new DeviceTraits("test GPU", 1024, 132, 48 << 10, 512, null);

  @Test
  void theDefaultMlpStepIsTwentyOneLaunchesAndNoFill() {
    Graph mlp = ModelZoo.mlp(42, 784, 10, 256, 128);
    Planner planner = new Planner(mlp, 128, new Keep(false, Set.of()), GPU);
    StepPlan.Steps steps = planner.steps(128);
    List<Launch> update = planner.update(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
    int total = steps.forward().size() + steps.backward().size() + update.size();
    System.out.printf("default MLP step: %d forward + %d backward + %d update = %d launches, 0 fills%n",
        steps.forward().size(), steps.backward().size(), update.size(), total);
    assertEquals(1, update.size(), "one update launch for every parameter");
    assertTrue(total <= 21, "launches per step: " + total);
    for (Launch l : concat(steps.forward(), steps.backward(), update)) {
      assertTrue(!l.kernel().contains("fill"), l.kernel());
    }
  }

  @Test
  void valuesWhoseLivesDoNotOverlapShareMemory() {
    GraphBuilder g = new GraphBuilder(1);
    Node h = g.input("x", 1000);
    for (int i = 0; i < 8; i++) h = g.apply(new Tanh(), "t" + i, h);
    g.apply(new Tanh(), "out", h);
    StepPlan plan = new Planner(g.build(), 64, new Keep(false, Set.of()), GPU).plan();
    assertEquals(64 * 1000 * 4L * 10, plan.unsharedBytes());
    assertEquals(64 * 1000 * 4L * 4, plan.regionBytes(), "input and output kept, eight values in two shared regions");
  }

  @Test
  void theFirstWriterOfAGradientOverwritesAndLaterOnesAdd() {
    Graph g = Models.sharedWeight(1, 5); // W used by use1 and use2
    Planner planner = new Planner(g, 4, new Keep(false, Set.of()), GPU);
    StepPlan plan = planner.plan();
    int gradW = plan.gradient(g.node("W"));
    List<Float> betas = planner.steps(4).backward().stream()
        .filter(l -> l.kernel().equals("gemm") && l.args().get(13).equals(new Launch.Buf(gradW)))
        .map(l -> ((Launch.F32) l.args().get(12)).value()).toList();
    assertEquals(List.of(0f, 1f), betas, "use2's backward runs first and overwrites; use1's adds");
    assertEquals(Set.of(g.node("W"), g.node("h1"), g.node("b2")), Set.copyOf(plan.firstWrites(g.node("use2"))));
    assertEquals(Set.of(g.node("b1")), Set.copyOf(plan.firstWrites(g.node("use1"))), "W was written by use2 already");
  }

  @Test
  void parametersAndGradientsLiveInAlignedFlatBlocks() {
    Graph mlp = ModelZoo.mlp(42, 784, 10, 256, 128);
    StepPlan plan = new Planner(mlp, 128, new Keep(false, Set.of()), GPU).plan();
    long previousEnd = 0;
    for (var p : mlp.params()) {
      StepPlan.Buffer v = plan.buffers().get(plan.value(p)), gr = plan.buffers().get(plan.gradient(p));
      assertEquals(0, v.offset() % 512, p.name() + " aligned");
      assertEquals(v.offset(), gr.offset(), p.name() + ": same offset in both blocks");
      assertTrue(v.offset() >= previousEnd, p.name() + " does not overlap the one before");
      previousEnd = v.offset() + v.bytes();
    }
    assertTrue(4L * plan.blockFloats() >= previousEnd);
  }

  @SafeVarargs
  private static List<Launch> concat(List<Launch>... lists) {
    return java.util.Arrays.stream(lists).flatMap(List::stream).toList();
  }
}
