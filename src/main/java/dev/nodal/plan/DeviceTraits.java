package dev.nodal.plan;

/**
 * What a plan needs to know of the device it is for: the sizes that choose work-groups and
 * GEMM tiles, and the alignment of views into a block of memory. {@link #CPU} serves the CPU
 * backend, which launches no kernel but shares the plan's order and memory.
 *
 * @param gemmOverride tiles for every product (for tuning), or null to choose per product
 * @param tunedGemm tiles measured fastest on this device, by {@link GemmConfig#shapeClass}
 *
 * <p>The constructor throws IllegalArgumentException when {@code gemmOverride} or a tuned tiling
 * does not fit the device ({@link GemmConfig#misfit}); whoever reads them from a user checks them
 * first.
 */
public record DeviceTraits(String name, long maxWorkGroupSize, int computeUnits, long localMemory, int alignBytes,
    GemmConfig gemmOverride, java.util.Map<String, GemmConfig> tunedGemm) {

  public DeviceTraits {
    if (alignBytes < 4 || Integer.bitCount(alignBytes) != 1) {
      throw new IllegalArgumentException("alignment must be a power of two of at least 4 bytes, got " + alignBytes);
    }
    tunedGemm = java.util.Map.copyOf(tunedGemm);
    String misfit = gemmOverride == null ? null : gemmOverride.misfit(maxWorkGroupSize, localMemory);
    if (misfit != null) throw new IllegalArgumentException("gemm override for " + name + ": " + misfit);
    for (var e : tunedGemm.entrySet()) {
      misfit = e.getValue().misfit(maxWorkGroupSize, localMemory);
      if (misfit != null) throw new IllegalArgumentException("tuned gemm tiles of " + name + " for " + e.getKey() + ": " + misfit);
    }
  }

  /** Traits without tuned tiles. */
  public DeviceTraits(String name, long maxWorkGroupSize, int computeUnits, long localMemory, int alignBytes,
      GemmConfig gemmOverride) {
    this(name, maxWorkGroupSize, computeUnits, localMemory, alignBytes, gemmOverride, java.util.Map.of());
  }

  /** The same device with these tuned tiles. */
  public DeviceTraits withTunedGemm(java.util.Map<String, GemmConfig> tuned) {
    return new DeviceTraits(name, maxWorkGroupSize, computeUnits, localMemory, alignBytes, gemmOverride, tuned);
  }

  /** The pure-Java CPU backend: 64-byte alignment, no kernels. */
  public static final DeviceTraits CPU = new DeviceTraits("cpu", 1024, Runtime.getRuntime().availableProcessors(),
      1 << 20, 64, null);
}
