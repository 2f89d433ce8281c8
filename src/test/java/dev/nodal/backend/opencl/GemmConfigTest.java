package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class GemmConfigTest {
  private static GemmDevice device(int computeUnits, long localMemory, long maxWorkGroup) {
    return new GemmDevice("test device", maxWorkGroup, computeUnits, localMemory, null, java.util.Map.of());
  }

  @Test
  void largeTilesOnlyWhenTheyFillTheDevice() {
    GemmDevice h100 = device(132, 48 << 10, 1024);
    assertEquals(GemmConfig.LARGE, GemmConfig.choose(h100, 4096, 4096));
    assertEquals(GemmConfig.MEDIUM, GemmConfig.choose(h100, 1024, 1024), "64 large tiles for 132 compute units");
    assertEquals(GemmConfig.FINE, GemmConfig.choose(h100, 256, 1024), "64 medium tiles for 132 compute units");
    assertEquals(GemmConfig.LARGE, GemmConfig.choose(device(2, 2 << 20, 4096), 257, 257));
    assertEquals(GemmConfig.MEDIUM, GemmConfig.choose(device(2, 16 << 10, 4096), 4096, 4096), "too little local memory");
    assertEquals(GemmConfig.FINE, GemmConfig.choose(device(2, 2 << 20, 4096), 1, 10));
    assertEquals(GemmConfig.SMALL, GemmConfig.choose(device(8, 48 << 10, 128), 4096, 4096));
    assertTrue(GemmConfig.candidates(h100).contains(GemmConfig.LARGE));
    GemmConfig tuned = GemmConfig.parse("32,64,16,2,4");
    GemmDevice overridden = device(132, 48 << 10, 1024).withOverride(tuned);
    assertEquals(tuned, GemmConfig.choose(overridden, 4096, 4096), "an override belongs to one device");
    assertEquals(java.util.List.of(tuned), GemmConfig.candidates(overridden));
  }

  @Test
  void definesAndLaunchShapeAgree() {
    GemmConfig c = GemmConfig.parse("128, 64, 16, 8, 4");
    assertEquals("-DTILE_M=128 -DTILE_N=64 -DTILE_K=16 -DWPT_M=8 -DWPT_N=4 -DVEC=1 -DDB=0", c.defines());
    assertEquals(16, c.threadsM());
    assertEquals(16, c.threadsN());
    assertEquals(4L * 16 * (129 + 65), c.localBytes());
    assertEquals("128,64,16,8,4", c.text(), "the plain form is written as before");
    assertThrows(IllegalArgumentException.class, () -> GemmConfig.parse("64,64,16,4,3"));
    assertThrows(IllegalArgumentException.class, () -> GemmConfig.parse("64,64"));

    GemmConfig wide = GemmConfig.parse("128,64,16,8,4,4,1");
    assertEquals("-DTILE_M=128 -DTILE_N=64 -DTILE_K=16 -DWPT_M=8 -DWPT_N=4 -DVEC=4 -DDB=1", wide.defines());
    assertEquals(2 * 4L * 16 * (129 + 65), wide.localBytes(), "two buffers of each tile");
    assertEquals(wide, GemmConfig.parse(wide.text()));
    assertThrows(IllegalArgumentException.class, () -> GemmConfig.parse("64,64,16,4,4,3,0"), "loads of 3");
    assertThrows(IllegalArgumentException.class, () -> GemmConfig.parse("64,64,16,4,4,4,2"), "buffering 0 or 1");
    assertThrows(IllegalArgumentException.class, () -> GemmConfig.parse("64,64,16,4,4,4"), "six numbers");
    GemmDevice small = device(8, (int) c.localBytes(), 1024);
    assertEquals(java.util.List.of(new GemmConfig(128, 64, 16, 8, 4, 4, false)), c.variants(small),
        "double buffering is offered only where its local memory fits");
  }

  @Test
  void tilingsTheKernelOrTheDeviceCannotRunAreRefused() {
    assertThrows(IllegalArgumentException.class, () -> new GemmConfig(32, 32, 0, 2, 2), "a K step of 0 never ends");
    assertThrows(IllegalArgumentException.class, () -> new GemmConfig(32, 32, 16, 0, 2), "no work per item");
    assertThrows(IllegalArgumentException.class, () -> new GemmConfig(2048, 32, 16, 2, 2), "longer than MAX_TILE");
    GemmConfig large = new GemmConfig(128, 128, 32, 8, 8);
    assertEquals(null, large.misfit(256, 48 << 10));
    assertTrue(large.misfit(255, 48 << 10).contains("need 256 work-items per work-group, more than the device's 255"));
    assertTrue(large.misfit(256, 32 << 10).contains("need 33024 bytes of local memory, more than the device's 32768"));
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new GemmDevice("small", 128, 8, 48 << 10, large, java.util.Map.of()), "never tiles the device cannot run");
    assertTrue(e.getMessage().contains("gemm override for small"), e.getMessage());
  }
}
