package dev.nodal.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import dev.nodal.graph.Op;
import dev.nodal.ops.OpCatalogue.Entry;
import dev.nodal.testkit.OpSamples;
import dev.nodal.testkit.OpSamples.Sample;
import dev.nodal.tensor.Shape;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** The catalogue is complete: every op class is in it, and every entry has what the tests need. */
class OpCatalogueTest {

  @Test
  void everyOpClassIsInTheCatalogue() {
    Set<String> listed = OpCatalogue.entries().stream().map(e -> e.type().getName()).collect(Collectors.toSet());
    Set<String> missing = new TreeSet<>();
    for (JavaClass c : new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("dev.nodal")) {
      if (c.isAssignableTo(Op.class) && !c.isInterface() && !c.getModifiers().contains(JavaModifier.ABSTRACT)
          && !listed.contains(c.getName())) {
        missing.add(c.getName());
      }
    }
    assertEquals(Set.of(), missing, "op classes missing from OpCatalogue");
  }

  @Test
  void everyEntryHasSamplesThatFitIt() {
    Set<String> kinds = new HashSet<>();
    assertEquals(OpCatalogue.entries().stream().map(Entry::kind).toList(),
        OpSamples.all().stream().map(OpSamples.Samples::kind).toList(), "the node types with samples are the catalogue's");
    for (Entry entry : OpCatalogue.entries()) {
      OpSamples.Samples e = OpSamples.of(entry.kind());
      assertTrue(kinds.add(e.kind()), "kind listed twice: " + e.kind());
      assertFalse(e.gradientSamples().isEmpty(), e.kind() + ": no gradient-check samples");
      assertFalse(e.paritySamples().isEmpty(), e.kind() + ": no parity samples");
      for (Sample s : concat(e.gradientSamples(), e.paritySamples())) {
        assertEquals(entry.type(), s.op().getClass(), e.kind() + ": sample " + s);
        assertEquals(e.kind(), s.op().kind(), e.kind() + ": sample " + s);
      }
      assertTrue(e.gradientSamples().stream().anyMatch(s -> s.shapes().get(0)[0] == 1),
          e.kind() + ": no gradient sample of batch (first dimension) 1");
      Set<Integer> dims = new HashSet<>();
      for (Sample s : e.paritySamples()) for (int[] shape : s.shapes()) for (int d : shape) dims.add(d);
      for (int size : OpSamples.STRADDLE) {
        assertTrue(dims.contains(size), e.kind() + ": no parity sample has a dimension of " + size);
      }
      boolean sums = concat(e.gradientSamples(), e.paritySamples()).stream().anyMatch(s -> reductionLength(s) > 1);
      assertEquals(sums ? OpSamples.Family.REDUCTION : OpSamples.Family.ELEMENTWISE, e.family(),
          e.kind() + ": family disagrees with the op's reductionLength");
    }
  }

  @Test
  void kernelFilesExistAndUnknownKindsAreNamed() {
    for (String program : OpCatalogue.programs()) {
      assertTrue(java.nio.file.Files.exists(java.nio.file.Path.of("kernels", program + ".cl")), "kernels/" + program + ".cl");
    }
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> OpCatalogue.create("swiss", java.util.Map.of()));
    assertTrue(e.getMessage().startsWith("unknown node type 'swiss'; known: [dense, matmul"), e.getMessage());
    e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> OpCatalogue.create("leaky_relu", java.util.Map.of("slope", "steep")));
    assertEquals("leaky_relu: attribute 'slope' is not a number: steep", e.getMessage());
  }

  private static int reductionLength(Sample s) {
    return s.op().reductionLength(s.shapes().stream().map(Shape::of).toArray(Shape[]::new));
  }

  private static List<Sample> concat(List<Sample> a, List<Sample> b) {
    return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
  }
}
