package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.cli.Main;
import dev.nodal.testkit.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The OpenCL loader is found quietly, and a NODAL_OPENCL_LIBRARY that cannot load is an error naming it. */
class LoaderTest {
  @TempDir Path dir;

  private static final String[] BENCH = {"bench", "gemm", "--size", "8", "--repeats", "1", "--inner", "1", "--device"};

  private static ChildJvm.Result bench(Map<String, String> env, String device) {
    String[] args = java.util.Arrays.copyOf(BENCH, BENCH.length + 1);
    args[BENCH.length] = device;
    return ChildJvm.run(Main.class, env, 120, args);
  }

  @Test
  void aLibraryOverrideThatCannotLoadIsAnErrorNamingIt() throws Exception {
    Assumptions.assumeTrue(SignalChaining.needed(), "the library search and its ELF check are Linux's");
    Path notALibrary = Files.writeString(dir.resolve("libOpenCL.so.1"), "not an ELF file");
    Map<String, String> env = new HashMap<>(Map.of("NODAL_OPENCL_LIBRARY", notALibrary.toString()));
    env.put("LD_PRELOAD", Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString());
    env.put(OpenCl.DISABLE, null); // the override is checked even where no loader is installed
    ChildJvm.Result auto = bench(env, "auto");
    assertEquals(1, auto.exitCode(), auto.output());
    assertTrue(auto.output().contains("NODAL_OPENCL_LIBRARY=" + notALibrary + " could not be loaded"), auto.output());
    assertFalse(auto.output().contains("Could not load"), "the loader search prints nothing of its own: " + auto.output());
    ChildJvm.Result cpu = bench(env, "cpu");
    assertEquals(0, cpu.exitCode(), "--device cpu never loads OpenCL: " + cpu.output());
  }

  /**
   * A library that loads but is not OpenCL (here the JVM's own libzip; libc or libz alike) is an
   * error that says so and how to fix it, for auto as for an explicit OpenCL device.
   */
  @Test
  void aLibraryThatIsNotOpenClIsAnErrorSayingSo() throws Exception {
    Assumptions.assumeTrue(SignalChaining.needed(), "the library override and its ELF check are Linux's");
    Path notOpenCl = Path.of(System.getProperty("java.home"), "lib", "libzip.so");
    Assumptions.assumeTrue(Files.isRegularFile(notOpenCl), "no " + notOpenCl);
    Map<String, String> env = new HashMap<>(Map.of("NODAL_OPENCL_LIBRARY", notOpenCl.toString()));
    env.put(OpenCl.DISABLE, null);
    int refused = 0;
    for (String device : new String[] {"auto", "opencl", "opencl:0:0"}) {
      ChildJvm.Result r = bench(env, device);
      assertEquals(1, r.exitCode(), device + ": " + r.output());
      assertTrue(r.output().contains("NODAL_OPENCL_LIBRARY=" + notOpenCl + " is not an OpenCL loader: it has no "
          + "clGetPlatformIDs") && r.output().contains("Fix: point NODAL_OPENCL_LIBRARY at the OpenCL ICD loader, "
          + "libOpenCL.so.1"), device + ": " + r.output());
      assertFalse(r.output().contains("internal error") || r.output().contains("UnsupportedOperationException"),
          r.output());
      refused++;
    }
    System.out.printf("NODAL_OPENCL_LIBRARY at a library that is not OpenCL: %d runs refused, saying so%n", refused);
    assertEquals(3, refused);
  }
}
