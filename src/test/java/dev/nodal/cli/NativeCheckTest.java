package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.OpenCl;
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
    OpenCl.Probe probe = OpenCl.probe();
    if (probe.usable()) {
      assertEquals(0, code, out);
      for (DeviceInfo d : probe.devices()) assertTrue(out.contains("PASS " + d.id()), out);
      for (String file : NativeCheck.kernelFiles()) assertTrue(out.contains("build " + file + ": ok"), out);
    } else {
      assertEquals(1, code, out);
      assertTrue(out.contains("no usable OpenCL device"), out);
    }
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
