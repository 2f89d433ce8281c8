package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.devices.NodalOptions;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import org.junit.jupiter.api.Test;

class OpenClRuntimeTest {

  @Test
  void programsBuildOncePerKeyAndEveryKernelFileBuilds() {
    try (Backend b = OpenClTests.backend()) {
      OpenClBackend cl = (OpenClBackend) b;
      for (String file : KernelSources.all()) cl.programs.get(file, "");
      long builds = cl.programBuilds();
      for (String file : KernelSources.all()) cl.programs.get(file, "");
      assertEquals(builds, cl.programBuilds(), "a second request is served from the cache");
      cl.programs.get("gemm.cl", "-DTILE_M=32 -DTILE_N=32");
      assertEquals(builds + 1, cl.programBuilds(), "other defines are another program");
    }
  }

  @Test
  void buildFailureCarriesFileOptionsDeviceAndLog() {
    try (Backend b = OpenClTests.backend()) {
      OpenClBackend cl = (OpenClBackend) b;
      // A plain define that every driver's option parser accepts, but that makes the source itself
      // invalid: TILE_K, which sizes gemm.cl's local tiles and loops, names nothing declared.
      KernelBuildException e = assertThrows(KernelBuildException.class,
          () -> cl.programs.get("gemm.cl", "-DTILE_K=nodal_undeclared_tile_k"));
      assertEquals("gemm.cl", e.file());
      assertTrue(e.options().contains("-DTILE_K=nodal_undeclared_tile_k"), e.options());
      assertTrue(e.device().contains(cl.device().name()), e.device());
      assertNotNull(e.log());
      assertTrue(e.getMessage().contains("kernels/gemm.cl failed to build"), e.getMessage());
    }
  }

  @Test
  void theLoaderIsFoundAndTheClStdComesFromTheDevice() {
    OpenCl.Probe probe = OpenCl.probe(NodalOptions.fromEnvironment().openCl());
    try (Backend b = OpenClTests.backend()) {
      assertNotNull(probe.loader(), "the loader that was loaded is recorded");
      if (SignalChaining.needed()) {
        assertTrue(probe.loader().contains("/libOpenCL.so") && probe.searched() != null, probe.loader());
      }
      System.out.println("OpenCL loader: " + probe.loader());
      DeviceInfo d = ((OpenClBackend) b).device();
      assertTrue(d.clStdOption().startsWith("-cl-std=CL1."), d.openclC() + " -> " + d.clStdOption());
    }
  }

  @Test
  void intermediateValuesAreReadableOnlyWhenKept() {
    Graph g = Models.mlp(1, 5, 8, 3);
    try (Backend b = OpenClTests.backend(); Session plain = b.compile(g, 4);
        Session kept = b.compile(g, CompileOptions.maxBatch(4).keep("h"))) {
      for (Session s : new Session[] {plain, kept}) {
        s.setInput((Input) g.node("x"), Models.uniform(20, 1));
        s.setInput((Input) g.node("y"), new float[] {0, 1, 2, 0});
        s.forward();
        s.backward();
      }
      GraphException e = assertThrows(GraphException.class, () -> plain.value(g.node("h")));
      assertTrue(e.getMessage().contains("CompileOptions.keep(\"h\")"), e.getMessage());
      assertEquals(20 * 0 + 4 * 8, kept.value(g.node("h")).length);
      assertEquals(4 * 8, kept.gradient(g.node("h")).length);
    }
  }

  @Test
  void unknownSelectorsAreRejected() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.open("gpu"));
    assertTrue(e.getMessage().contains("use auto, cpu, opencl or opencl:P:D"), e.getMessage());
    // A well-formed selector of an absent device: an argument error where OpenCL works, else the
    // error that OpenCL is not usable (a machine without it).
    OpenCl.Probe probe = OpenCl.probe(NodalOptions.fromEnvironment().openCl());
    Class<? extends RuntimeException> expected = probe.usable() ? IllegalArgumentException.class : IllegalStateException.class;
    assertThrows(expected, () -> Backends.open("opencl:9:9"));
  }
}
