package dev.nodal.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.cpu.CpuBackend;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClOptions;
import dev.nodal.tensor.CpuOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The settings read at the edge: what each variable and property sets, what is left at its
 * default, and that the options given to {@link Backends} are the ones its backends get, with no
 * environment read.
 */
class NodalOptionsTest {
  private static final Path DEFAULT_CACHE = Path.of(System.getProperty("user.home"), ".cache", "nodal", "gemm-tuning.json");

  @Test
  void nothingSetGivesTheDefaults() {
    NodalOptions none = NodalOptions.from(Map.of(), Map.of());
    assertEquals(NodalOptions.defaults(), none);
    assertEquals(new CpuOptions(true, CpuOptions.Microkernel.AUTO), none.cpu());
    assertEquals(new OpenClOptions(false, null, DEFAULT_CACHE, false, null), none.openCl());
  }

  @Test
  void eachSettingSetsItsOption() {
    NodalOptions all = NodalOptions.from(Map.of("NODAL_VECTOR", "0", "NODAL_GEMM", "32,32,16,2,2", "NODAL_CACHE_DIR",
        "/tmp/nodal-cache", "NODAL_DISABLE_OPENCL", "1", "NODAL_OPENCL_UNCHAINED", "1", "NODAL_OPENCL_LIBRARY",
        "/opt/libOpenCL.so.1"), Map.of("nodal.gemm.kernel", "4x3"));
    assertEquals(new CpuOptions(false, CpuOptions.Microkernel.NARROW_4X3), all.cpu());
    assertEquals(new OpenClOptions(true, "32,32,16,2,2", Path.of("/tmp/nodal-cache", "gemm-tuning.json"), true,
        "/opt/libOpenCL.so.1"), all.openCl());
    assertEquals(CpuOptions.Microkernel.WIDE_6X4, NodalOptions.from(Map.of(), Map.of("nodal.gemm.kernel", " 6X4 "))
        .cpu().microkernel());
  }

  @Test
  void onlyTheDocumentedValuesSwitch() {
    NodalOptions other = NodalOptions.from(Map.of("NODAL_VECTOR", "no", "NODAL_DISABLE_OPENCL", "true",
        "NODAL_OPENCL_UNCHAINED", "yes", "NODAL_GEMM", " ", "NODAL_CACHE_DIR", "", "NODAL_OPENCL_LIBRARY", ""), Map.of());
    assertTrue(other.cpu().vectorApi(), "only NODAL_VECTOR=0 turns the Vector API off");
    assertFalse(other.openCl().disabled(), "only NODAL_DISABLE_OPENCL=1 disables OpenCL");
    assertFalse(other.openCl().unchained(), "only NODAL_OPENCL_UNCHAINED=1 accepts the risk");
    assertNull(other.openCl().gemmTiles(), "a blank NODAL_GEMM is none");
    assertNull(other.openCl().loaderLibrary(), "a blank NODAL_OPENCL_LIBRARY is none");
    assertEquals(DEFAULT_CACHE, other.openCl().tuningCache(), "a blank NODAL_CACHE_DIR is the default folder");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> NodalOptions.from(Map.of(), Map.of("nodal.gemm.kernel", "8x8")));
    assertEquals("system property nodal.gemm.kernel=8x8: use auto, 4x3, 6x4, 8x2 or 6x2", e.getMessage());
  }

  @Test
  void backendsGetTheOptionsTheyAreGiven() {
    CpuOptions plain = CpuOptions.defaults().withVectorApi(false);
    NodalOptions options = NodalOptions.defaults().withCpu(plain).withOpenCl(OpenClOptions.defaults().withDisabled(true));
    try (Backend cpu = Backends.open("cpu", options); Backend auto = Backends.open(Device.auto(), options);
        Backend direct = Backends.cpu(plain)) {
      for (Backend b : List.of(cpu, auto, direct)) {
        assertEquals(plain, ((CpuBackend) b).options(), b.name());
        assertEquals("plain Java loops", ((CpuBackend) b).gemmKernel());
      }
    }
    OpenCl.Probe disabled = OpenCl.probe(options.openCl());
    assertFalse(disabled.usable());
    assertEquals("OpenCL is disabled by NODAL_DISABLE_OPENCL=1 (OpenClOptions.disabled())", disabled.error());
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.open("opencl", options));
    assertTrue(e.getMessage().contains("OpenCL is disabled"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> Backends.openEach(List.of("cpu", "opencl"), options));
  }
}
