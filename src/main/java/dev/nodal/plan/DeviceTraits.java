package dev.nodal.plan;

/**
 * What a plan needs to know of the device it is for: the largest work-group an op may ask for
 * ({@link dev.nodal.graph.Launcher#maxWorkGroupSize}), and the alignment of views into a block of
 * memory. How a backend runs the plan's launches (work-group sizes it picks, GEMM tiles, source
 * files) is its own. {@link #CPU} serves the CPU backend, which launches no kernel but shares the
 * plan's order and memory.
 */
public record DeviceTraits(String name, long maxWorkGroupSize, int computeUnits, long localMemory, int alignBytes) {

  public DeviceTraits {
    if (alignBytes < 4 || Integer.bitCount(alignBytes) != 1) {
      throw new IllegalArgumentException("alignment must be a power of two of at least 4 bytes, got " + alignBytes);
    }
  }

  /** The pure-Java CPU backend: 64-byte alignment, no kernels. */
  public static final DeviceTraits CPU = new DeviceTraits("cpu", 1024, Runtime.getRuntime().availableProcessors(),
      1 << 20, 64);
}
