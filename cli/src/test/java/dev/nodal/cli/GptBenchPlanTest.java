package dev.nodal.cli;

import static dev.nodal.cli.CliBehaviourTest.run;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.cli.CliBehaviourTest.Outcome;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Node;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.plan.Keep;
import dev.nodal.plan.Planner;
import dev.nodal.plan.StepPlan;
import dev.nodal.train.GptModel;
import java.nio.file.Path;
import java.util.Set;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code nodal bench gpt} times the preset's training step; {@code nodal plan --model gpt} plans any size of it. */
class GptBenchPlanTest {
  @TempDir Path dir;

  @Test
  void benchTimesOneTrainingStepOfThePresetAndWritesJson() throws Exception {
    String written = CliBehaviourTest.benchOnce(dir.resolve("gpt.json"), "gpt",
        "gpt cpu: min [\\d.]+ ms, median [\\d.]+ ms per op \\(\\d+ tokens/s at batch 32 × 64 at min\\)");
    assertTrue(written.contains("\"workload\" : \"gpt\"") && written.contains("\"batch\" : 32")
        && written.contains("\"context\" : 64"), written);
  }

  @Test
  void planShowsTheGptOfTheGivenSizesWithAdamW() {
    Outcome r = run("plan", "--model", "gpt", "--context", "32", "--layers", "1", "--heads", "2", "--width", "16",
        "--batch-size", "2", "--device", "cpu");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().startsWith("plan of gpt (context 32, 1 layers, 2 heads, width 16, dropout 0.0) for cpu, batch 2, "
        + "AdamW with clipping"), r.out());
    assertTrue(r.out().contains("step: ") && r.out().contains("memory: "), r.out());
    Outcome mlp = run("plan", "--model", "mlp", "--context", "32", "--device", "cpu");
    assertEquals(1, mlp.code());
    assertEquals("nodal plan: --context applies to --model gpt only, not mlp", mlp.err().strip());
    Outcome odd = run("plan", "--model", "gpt", "--heads", "3", "--device", "cpu");
    assertEquals(1, odd.code());
    assertTrue(odd.err().contains("the width 128 must be a positive multiple of the 3 heads"), odd.err());
  }

  /**
   * Attention keeps no T×T weights: its value, gradient, saved log-sum-exp and backward scratch
   * double when the context doubles, in every block.
   */
  @Test
  void attentionMemoryGrowsLinearlyWithTheContext() {
    long[] attention = new long[3];
    int[] contexts = {128, 256, 512};
    for (int i = 0; i < contexts.length; i++) {
      Graph graph = new GptModel(contexts[i], 2, 4, 64, 0f).build(42);
      StepPlan plan = new Planner(graph, 4, new Keep(false, Set.of()), DeviceTraits.CPU).plan();
      attention[i] = IntStream.range(0, 2).mapToLong(b -> attentionBytes(plan, graph.node("block" + b + ".attn.core"))).sum();
      System.out.printf("gpt context %d: attention %d bytes; plan %.2f MiB (unshared %.2f MiB)%n", contexts[i],
          attention[i], plan.regionBytes() / 1048576.0, plan.unsharedBytes() / 1048576.0);
    }
    assertEquals(2 * attention[0], attention[1]);
    assertEquals(2 * attention[1], attention[2]);
  }

  /** The bytes of a node's value, gradient, workspace and scratch buffers. */
  private static long attentionBytes(StepPlan plan, Node node) {
    long bytes = plan.buffers().get(plan.value(node)).bytes() + plan.buffers().get(plan.gradient(node)).bytes();
    IntStream buffers = IntStream.concat(IntStream.of(plan.work(node)),
        IntStream.concat(IntStream.of(plan.scratch(node, false)), IntStream.of(plan.scratch(node, true))));
    return bytes + buffers.mapToLong(b -> plan.buffers().get(b).bytes()).sum();
  }
}
