package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.KernelSources;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClBackend;
import dev.nodal.testkit.OpenClTests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.Test;

class NativeCheckTest {

  @Test
  void verdictPerDeviceAndExitStatus() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    int code = new NativeCheck(new PrintStream(buf, true, StandardCharsets.UTF_8)).run();
    String out = buf.toString(StandardCharsets.UTF_8);
    for (String section : new String[] {"== OpenCL loader", "== ICD vendor files", "== JOCL", "== Platforms and devices", "== Verdict"}) {
      assertTrue(out.contains(section), section + " missing:\n" + out);
    }
    OpenCl.Probe probe = OpenCl.probe(dev.nodal.devices.NodalOptions.fromEnvironment().openCl());
    if (probe.usable()) {
      // The suite's device must pass; another device of the host (a GPU without a working driver,
      // say) may fail, but gets its verdict line too.
      DeviceInfo selected;
      try (OpenClBackend b = (OpenClBackend) OpenClTests.backend()) {
        selected = b.device();
      }
      assertEquals(0, code, out);
      String verdict = out.substring(out.indexOf("== Verdict"));
      assertTrue(verdict.contains("PASS " + selected.id() + " "), "the suite's device " + selected + " passes:\n" + out);
      String section = section(out, "== Device " + selected);
      for (String file : KernelSources.all()) {
        assertTrue(section.contains("build " + file + ": ok"), file + " builds on " + selected + ":\n" + out);
      }
      for (DeviceInfo d : probe.devices()) {
        assertTrue(verdict.contains("PASS " + d.id() + " ") || verdict.contains("FAIL " + d.id() + " "),
            "a verdict for " + d + ":\n" + out);
      }
    } else {
      assertEquals(1, code, out);
      assertTrue(out.contains("no usable OpenCL device"), out);
    }
  }

  /** The lines from {@code heading} to the next section. */
  private static String section(String out, String heading) {
    int start = out.indexOf(heading + System.lineSeparator());
    assertTrue(start >= 0, heading + " missing:\n" + out);
    int end = out.indexOf("\n== ", start + heading.length());
    return out.substring(start, end < 0 ? out.length() : end);
  }

  @Test
  void anInstalledButUnregisteredNvidiaDriverGetsTheExactFix() {
    String fix = NativeCheck.unregisteredNvidiaFix(List.of("libpocl.so.2"), true);
    assertTrue(fix.contains("echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd"), fix);
    assertTrue(fix.contains("export OCL_ICD_VENDORS="), fix);
    assertNull(NativeCheck.unregisteredNvidiaFix(List.of("libnvidia-opencl.so.1"), true));
    assertNull(NativeCheck.unregisteredNvidiaFix(List.of("libpocl.so.2"), false));
  }
}
