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
    String relu = KernelSources.source("relu.cl");
    assertFalse(relu.lines().anyMatch(l -> l.startsWith("#include")), "no include is left for the compiler to resolve");
    assertTrue(relu.contains("inline void kahan_add"), "common.h is in the program text");
    assertEquals(64, KernelSources.hash("relu.cl").length());
    assertNotEquals(KernelSources.hash("relu.cl"), KernelSources.hash("tanh.cl"));
  }
}
