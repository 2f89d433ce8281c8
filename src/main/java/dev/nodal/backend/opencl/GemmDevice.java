package dev.nodal.backend.opencl;

import java.util.Map;

/**
 * What choosing {@code gemm.cl}'s tiles ({@link GemmConfig#choose}) needs to know of a device: its
 * limits, the tiles {@code $NODAL_GEMM} forces on every product (for tuning; null when unset) and
 * the tiles {@code nodal tune} measured fastest, by {@link GemmConfig#shapeClass}.
 *
 * <p>The constructor throws IllegalArgumentException when the override or a tuned tiling does not
 * fit the device ({@link GemmConfig#misfit}); whoever reads them from a user checks them first.
 */
public record GemmDevice(String name, long maxWorkGroupSize, int computeUnits, long localMemory, GemmConfig override,
    Map<String, GemmConfig> tuned) {

  public GemmDevice {
    tuned = Map.copyOf(tuned);
    String misfit = override == null ? null : override.misfit(maxWorkGroupSize, localMemory);
    if (misfit != null) throw new IllegalArgumentException("gemm override for " + name + ": " + misfit);
    for (var e : tuned.entrySet()) {
      misfit = e.getValue().misfit(maxWorkGroupSize, localMemory);
      if (misfit != null) throw new IllegalArgumentException("tuned gemm tiles of " + name + " for " + e.getKey() + ": " + misfit);
    }
  }

  /** The limits of {@code device}, without override or tuned tiles. */
  public static GemmDevice of(DeviceInfo device) {
    return new GemmDevice(device.name(), device.maxWorkGroupSize(), device.computeUnits(), device.localMemory(), null,
        Map.of());
  }

  /** The same device with these tiles forced on every product (null: none). */
  public GemmDevice withOverride(GemmConfig tiles) {
    return new GemmDevice(name, maxWorkGroupSize, computeUnits, localMemory, tiles, tuned);
  }

  /** The same device with these tuned tiles. */
  public GemmDevice withTuned(Map<String, GemmConfig> tiles) {
    return new GemmDevice(name, maxWorkGroupSize, computeUnits, localMemory, override, tiles);
  }
}
