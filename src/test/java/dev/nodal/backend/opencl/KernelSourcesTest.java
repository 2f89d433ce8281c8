package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class KernelSourcesTest {

  @Test
  void theListNamesEveryKernelFile() throws Exception {
    try (Stream<Path> files = Files.list(Path.of("kernels"))) {
      assertEquals(files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".cl")).sorted().toList(),
          KernelSources.all().stream().sorted().toList(),
          "every kernels/*.cl belongs to an op catalogue entry or to the optimizers (native-check builds them)");
    }
  }

  @Test
  void commonHeaderIsSplicedInAndHashesDiffer() {
    String activation = KernelSources.source("activation.cl");
    assertFalse(activation.lines().anyMatch(l -> l.startsWith("#include")), "no include is left for the compiler to resolve");
    assertTrue(activation.contains("inline void kahan_add"), "common.h is in the program text");
    assertEquals(64, KernelSources.hash("activation.cl").length());
    assertNotEquals(KernelSources.hash("activation.cl"), KernelSources.hash("scale.cl"));
  }

  /** The activations' OpenCL form is generated from FusedActivation, by name and fixed code. */
  @Test
  void theActivationsAreGeneratedFromTheirOneDefinition() {
    String source = KernelSources.source("activation.cl");
    assertFalse(source.contains(ActivationSource.MARKER), "the marker is replaced");
    for (dev.nodal.tensor.FusedActivation a : dev.nodal.tensor.FusedActivation.values()) {
      assertTrue(source.contains("#define ACT_" + a.name() + " " + a.code() + "\n"), a.name());
      if (a != dev.nodal.tensor.FusedActivation.NONE) {
        assertTrue(source.contains("case ACT_" + a.name() + ": return " + ActivationSource.forward(a) + ";"), a.name());
        assertTrue(source.contains("case ACT_" + a.name() + ": return " + ActivationSource.gradient(a) + ";"), a.name());
      }
    }
  }
}
