package dev.nodal.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Node;
import dev.nodal.graph.Init;
import dev.nodal.ops.Conv2d;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Reshape;
import dev.nodal.ops.Tanh;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import dev.nodal.train.GptModel;
import dev.nodal.train.ModelZoo;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The step plan, checked without a device. */
class StepPlanTest {
  private static final DeviceTraits GPU = new DeviceTraits("test GPU", 1024, 132, 48 << 10, 512);

  @Test
  void theDefaultMlpStepIsFourteenLaunchesAndNoFill() {
    Graph mlp = ModelZoo.mlp(42, 784, 10, 256, 128);
    Planner planner = new Planner(mlp, 128, new Keep(false, Set.of()), GPU);
    StepPlan.Steps steps = planner.steps(128);
    List<Launch> update = planner.update(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
    int total = steps.forward().size() + steps.backward().size() + update.size();
    System.out.printf("default MLP step: %d forward + %d backward + %d update = %d launches, 0 fills%n",
        steps.forward().size(), steps.backward().size(), update.size(), total);
    assertEquals(1, update.size(), "one update launch for every parameter");
    assertEquals(14, total, "launches per step: 3 products and 1 softmax forward; per layer dy and db, then 2 "
        + "products (1 for the first layer), and the loss gradient, backward; 1 update");
    for (Launch l : concat(steps.forward(), steps.backward(), update)) {
      assertTrue(!(l instanceof Launch.Grid grid && grid.kernel().function().contains("fill")), l.toString());
    }
  }

  @Test
  void aSequenceTimesAWeightIsOneProductOverEveryRow() {
    int batch = 8, rows = batch * GptModel.DEFAULT.context();
    Planner planner = new Planner(GptModel.DEFAULT.build(1), batch, new Keep(false, Set.of()), GPU);
    StepPlan.Steps steps = planner.steps(batch);
    int products = 0;
    for (Launch l : concat(steps.forward(), steps.backward())) {
      if (l instanceof Launch.Product p) { // the linear layers and the logits
        products++;
        assertEquals(1, p.batch(), l.toString());
        assertTrue(p.m() == rows || p.k() == rows, "the batch's " + rows + " rows fold into M or K: " + l);
      }
    }
    // Per block four linear layers, and the logits: each a product forward and two backward.
    assertEquals(3 * (4 * GptModel.DEFAULT.layers() + 1), products);
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
  void im2colScratchLivesForOnePassAndIsSharedBetweenConvolutions() {
    GraphBuilder g = new GraphBuilder(1);
    Node x = g.input("x", 4, 12, 12);
    Conv2d conv = Conv2d.builder().padding(1).algorithm(Conv2d.Algorithm.IM2COL).build();
    Node h = g.apply(conv, "conv1", x, g.param("w1", Init.he(), 8, 4, 3, 3), g.param("b1", Init.zeros(), 8));
    h = g.apply(new Tanh(), "t", h);
    h = g.apply(conv, "conv2", h, g.param("w2", Init.he(), 8, 8, 3, 3), g.param("b2", Init.zeros(), 8));
    Graph graph = g.build(g.apply(new Mse(), "loss", g.apply(Reshape.flatten(), "flat", h), g.input("y", 8 * 12 * 12)));
    Planner planner = new Planner(graph, 16, new Keep(false, Set.of()), GPU);
    StepPlan plan = planner.plan();
    long patches = 0;
    Set<Integer> regions = new java.util.HashSet<>();
    for (String node : List.of("conv1", "conv2")) {
      for (boolean backward : new boolean[] {false, true}) {
        StepPlan.Buffer b = plan.buffers().get(plan.scratch(graph.node(node), backward)[0]);
        assertEquals(b.start(), b.end(), node + ": scratch lives for one pass");
        patches += b.bytes();
        regions.add(b.region());
      }
    }
    assertEquals(4L * (4 * 9 + 8 * 9 + 4 * 9 + 8 * 9) * 16 * 144, patches, "C·R·S × N·P·Q floats per pass");
    long held = regions.stream().mapToLong(r -> plan.regions().get(r).bytes()).sum();
    assertTrue(held < patches, "the patch matrices share memory: " + held + " bytes of regions for " + patches);
    // The forward product is one launch over the batch: 16 images × 8 filters × 144 positions.
    Launch.Product product = planner.steps(16).forward().stream().filter(l -> l.node().equals("conv2"))
        .filter(Launch.Product.class::isInstance).map(Launch.Product.class::cast).findFirst().orElseThrow();
    assertEquals(16, product.outputs(), "one output per image");
  }

  @Test
  void workGroupsFitTheDeviceOrAreRefusedNamingTheNode() {
    DeviceTraits small = new DeviceTraits("small", 32, 4, 32 << 10, 64);
    GraphBuilder g = new GraphBuilder(1);
    Node x = g.input("x", 3, 9, 9);
    Conv2d conv = Conv2d.builder().bias(false).algorithm(Conv2d.Algorithm.IM2COL).build();
    g.apply(conv, "conv", x, g.param("w", Init.he(), 4, 3, 3, 3));
    Planner planner = new Planner(g.build(), 2, new Keep(false, Set.of()), small);
    for (Launch l : planner.steps(2, false).forward()) {
      if (!(l instanceof Launch.Grid grid) || grid.group() == null) continue; // the backend sizes the others
      long group = 1;
      for (long d : grid.group()) group *= d;
      assertTrue(group <= 32, grid.kernel() + " asks for a group of " + group + " on a device that allows 32");
    }
    // An op that asks for more than the device allows is refused at planning, naming its node.
    GraphBuilder w = new GraphBuilder(1);
    w.apply(new WideGroups(), "wide", w.input("x", 64));
    Planner wide = new Planner(w.build(), 1, new Keep(false, Set.of()), small);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> wide.steps(1, false));
    assertTrue(e.getMessage().contains("'wide'") && e.getMessage().contains("more than the device allows (32)"),
        e.getMessage());
  }

  @Test
  void kernelArgumentsOfTheWrongTypeOrCountAreRefusedNamingTheNodeAndArgument() {
    dev.nodal.graph.Kernel scale = dev.nodal.graph.Kernel.of("scale", "scale_forward").ints("n").floats("c").buffers("x", "z");
    for (Object[] args : new Object[][] {{64, 2, "x", "z"}, {64, 2f, "x"}}) {
      GraphBuilder g = new GraphBuilder(1);
      g.apply(new WideGroups() {
        @Override
        public void forwardKernels(dev.nodal.graph.Launcher l) {
          Object[] a = args.clone();
          for (int i = 0; i < a.length; i++) a[i] = "x".equals(a[i]) ? l.in(0) : "z".equals(a[i]) ? l.out() : a[i];
          l.launch(scale, dev.nodal.graph.Launcher.over(64), a);
        }
      }, "scaled", g.input("x", 64));
      Planner planner = new Planner(g.build(), 1, new Keep(false, Set.of()), GPU);
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> planner.steps(1, false));
      String expected = args.length == 4 ? "node 'scaled': kernel scale:scale_forward, argument 1 'c' is an int, but the "
          + "kernel takes a float" : "node 'scaled': kernel scale:scale_forward(int n, float c, buffer x, buffer z) takes 4 "
          + "arguments, got 3";
      assertEquals(expected, e.getMessage());
    }
  }

  @Test
  void theFirstWriterOfAGradientOverwritesAndLaterOnesAdd() {
    Graph g = Models.sharedWeight(1, 5); // W used by use1 and use2
    Planner planner = new Planner(g, 4, new Keep(false, Set.of()), GPU);
    StepPlan plan = planner.plan();
    int gradW = plan.gradient(g.node("W"));
    List<Float> betas = planner.steps(4).backward().stream().filter(Launch.Product.class::isInstance)
        .map(Launch.Product.class::cast).filter(p -> p.c().buffer().equals(new Launch.Buf(gradW)))
        .map(Launch.Product::beta).toList();
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

  /** An identity whose kernel asks for work-groups of 64 work-items. */
  private static class WideGroups implements dev.nodal.graph.Op {
    @Override
    public String kind() {
      return "wide_groups";
    }

    @Override
    public List<String> inputRoles() {
      return List.of("x");
    }

    @Override
    public dev.nodal.tensor.Shape inferShape(dev.nodal.graph.ShapeContext c) {
      return c.in(0);
    }

    @Override
    public void forward(dev.nodal.graph.Pass pass, dev.nodal.tensor.CpuTensor[] in, dev.nodal.tensor.CpuTensor out) {
      System.arraycopy(in[0].data, 0, out.data, 0, out.data.length);
    }

    @Override
    public void backward(dev.nodal.graph.Pass pass, dev.nodal.tensor.CpuTensor[] in, dev.nodal.tensor.CpuTensor out,
        dev.nodal.tensor.CpuTensor dOut, dev.nodal.tensor.CpuTensor[] dIn) {}

    @Override
    public void forwardKernels(dev.nodal.graph.Launcher l) {
      l.launch(dev.nodal.graph.Kernel.of("tanh", "tanh_forward").ints("n").buffers("x", "z"),
          dev.nodal.graph.Launcher.over(64).inGroupsOf(64), 64, l.in(0), l.out());
    }

    @Override
    public void backwardKernels(dev.nodal.graph.Launcher l) {}
  }
}
