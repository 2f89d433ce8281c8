package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.opencl.OpenClBackend;
import dev.nodal.testkit.ChildJvm;
import dev.nodal.testkit.OpenClTests;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sessions and backends are safe to misuse: each misuse runs in a child JVM, which must exit 0
 * having printed the refusal (a crash in a driver would kill it by signal instead). The refusals of
 * what a device cannot hold are checked against its own limits and against 2 to 64 GiB reported
 * by override, so the outcome does not depend on the machine.
 */
class MisuseTest {

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void everyMisuseIsRefusedWithoutACrash(String backend) {
    long deviceMaxAllocation = 0;
    if (backend.equals("opencl")) { // skips, or fails under NODAL_REQUIRE_OPENCL=1
      try (Backend b = OpenClTests.backend()) {
        deviceMaxAllocation = ((OpenClBackend) b).device().maxAllocation();
      }
    }
    Map<String, String> env = Map.of("LD_PRELOAD", Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString());
    int refused = 0, crashes = 0;
    Map<String, String> expectations = new TreeMap<>(Misuse.EXPECTED);
    if (backend.equals("opencl")) {
      // Whatever the device reports: its own limit, and 2, 4, 8, 16 and 64 GiB by override.
      for (var c : Misuse.OPENCL_LIMITS.entrySet()) {
        expectations.put(c.getKey(), Misuse.overDeviceExpectation(c.getValue() > 0 ? c.getValue() : deviceMaxAllocation));
      }
      expectations.put("over-device-memory", Misuse.OVER_DEVICE_MEMORY);
    }
    TreeSet<String> misuses = new TreeSet<>(expectations.keySet());
    for (String misuse : misuses) {
      ChildJvm.Result r = ChildJvm.run(Misuse.class, env, 120, backend, misuse);
      if (r.diedBySignal()) crashes++;
      assertEquals(0, r.exitCode(), misuse + " on " + backend + ":\n" + r.output());
      String expected = expectations.get(misuse);
      assertTrue(r.output().contains(expected), misuse + " on " + backend + ":\n" + r.output());
      refused++;
    }
    System.out.printf("%d misuses on %s, each in a child JVM: %d refused with their message, %d crashes%n",
        misuses.size(), backend, refused, crashes);
    assertEquals(0, crashes);
  }
}
