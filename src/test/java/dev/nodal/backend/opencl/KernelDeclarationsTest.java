package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.CompileOptions;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Kernel;
import dev.nodal.ops.OpCatalogue;
import dev.nodal.optim.Adam;
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Sgd;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.plan.Launch;
import dev.nodal.plan.Planner;
import dev.nodal.testkit.CatalogueSamples;
import dev.nodal.testkit.OpSamples;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

/**
 * Every kernel that Nodal's ops and optimizers declare matches the source it runs, parameter by
 * parameter, and every entry of the catalogue names the programs its launches use; no device is
 * needed, since plans and their lowering are pure Java.
 */
class KernelDeclarationsTest {
  private static final GemmDevice DEVICE = new GemmDevice("test", 256, 4, 64 << 10, null, Map.of());

  @Test
  void everyDeclaredKernelMatchesItsSource() {
    Lowering lowering = new Lowering(256, DEVICE, KernelSources::source);
    Map<String, Set<String>> programsByKind = new HashMap<>();
    Set<String> functions = new TreeSet<>();
    int launches = 0;
    for (OpCatalogue.Entry e : OpCatalogue.entries()) {
      List<OpSamples.Sample> samples = new ArrayList<>(OpSamples.of(e.kind()).gradientSamples());
      samples.addAll(OpSamples.of(e.kind()).paritySamples());
      for (OpSamples.Sample sample : samples) {
        Graph g = CatalogueSamples.graph(sample, new HashMap<>());
        Planner planner = new Planner(g, sample.batch(), CompileOptions.maxBatch(sample.batch()).keepRule(),
            DeviceTraits.CPU);
        for (boolean training : new boolean[] {true, false}) {
          var steps = planner.steps(sample.batch(), training);
          for (List<Launch> phase : List.of(steps.forward(), steps.backward())) {
            for (Launch l : phase) {
              lowering.lower(l); // throws, naming the node, where declaration and source differ
              launches++;
              Kernel k = l instanceof Launch.Grid grid ? grid.kernel() : l instanceof Launch.Rows rows ? rows.kernel() : null;
              if (k == null || !l.node().equals("z")) continue;
              programsByKind.computeIfAbsent(e.kind(), x -> new TreeSet<>()).add(k.program());
              functions.add(k.function());
            }
          }
        }
      }
      assertEquals(new TreeSet<>(e.programs()), programsByKind.getOrDefault(e.kind(), Set.of()),
          e.kind() + ": the programs its entry lists and those its launches name");
    }
    for (Optimizer opt : List.of(Sgd.builder().build(), Sgd.builder().momentum(0.9f).build(), Adam.adam().build(), Adam.adamW().build())) {
      Map<String, List<Kernel.Type>> optim = KernelSignatures.of(KernelSources.source("optim.cl"));
      assertEquals(null, KernelSignatures.mismatch(opt.kernel(), "optim.cl", optim), opt.name());
      assertEquals(opt.hyperParameters().length, (int) opt.kernel().params().stream()
          .filter(p -> p.type() == Kernel.Type.FLOAT).count(), opt.name() + ": a float per hyper-parameter");
    }
    assertEquals(null, KernelSignatures.mismatch(Optimizer.GRAD_NORM_SQ, "optim.cl",
        KernelSignatures.of(KernelSources.source("optim.cl"))));
    System.out.printf("%d launches lowered; %d kernel functions of the catalogue checked against their source%n", launches,
        functions.size());
    assertTrue(functions.size() >= 45, functions.toString());
  }

  @Test
  void aDeclarationThatDiffersFromItsSourceIsRefusedByName() {
    Map<String, List<Kernel.Type>> scale = KernelSignatures.of(KernelSources.source("scale.cl"));
    Kernel swapped = Kernel.of("scale", "scale_forward").ints("n").buffers("x").floats("c").buffers("z");
    String why = KernelSignatures.mismatch(swapped, "scale.cl", scale);
    assertTrue(why.contains("kernel scale_forward of scale.cl takes [int, float, buffer, buffer]") && why.contains("float c"),
        why);
    assertTrue(KernelSignatures.mismatch(Kernel.of("scale", "scale_sideways"), "scale.cl", scale)
        .contains("no __kernel scale_sideways"));
    assertThrows(IllegalArgumentException.class, () -> Kernel.of("relu", "x").groupScratch("s").ints("n"));
    assertThrows(IllegalArgumentException.class, () -> Kernel.of("relu.cl", "relu_forward"), "a program, not a file");
  }
}
