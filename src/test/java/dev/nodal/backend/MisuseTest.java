package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.ChildJvm;
import dev.nodal.testkit.OpenClTests;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sessions and backends are safe to misuse: each misuse runs in a child JVM, which must exit 0
 * having printed the refusal (a crash in a driver would kill it by signal instead).
 */
class MisuseTest {

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void everyMisuseIsRefusedWithoutACrash(String backend) {
    if (backend.equals("opencl")) OpenClTests.backend().close(); // skips, or fails under NODAL_REQUIRE_OPENCL=1
    Map<String, String> env = Map.of("LD_PRELOAD", Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString());
    int refused = 0, crashes = 0;
    TreeSet<String> misuses = new TreeSet<>(Misuse.EXPECTED.keySet());
    if (backend.equals("opencl")) misuses.add("over-device-allocation");
    for (String misuse : misuses) {
      ChildJvm.Result r = ChildJvm.run(Misuse.class, env, 120, backend, misuse);
      if (r.diedBySignal()) crashes++;
      assertEquals(0, r.exitCode(), misuse + " on " + backend + ":\n" + r.output());
      String expected = misuse.equals("over-device-allocation") ? "(CL_DEVICE_MAX_MEM_ALLOC_SIZE); compile for a smaller batch"
          : Misuse.EXPECTED.get(misuse);
      assertTrue(r.output().contains(expected), misuse + " on " + backend + ":\n" + r.output());
      refused++;
    }
    System.out.printf("%d misuses on %s, each in a child JVM: %d refused with their message, %d crashes%n",
        misuses.size(), backend, refused, crashes);
    assertEquals(0, crashes);
  }
}
