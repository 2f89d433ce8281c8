package dev.nodal.backend;

/**
 * What a session had done when {@link Session#stats()} was called: an immutable snapshot, for
 * tests and for the {@code bench} command. CPU sessions count only what applies to them (no
 * kernels, no transfers).
 */
public record Stats(long kernelsEnqueued, long bytesToDevice, long bytesFromDevice, long hostSynchronisations,
    long buffersAllocated, long programBuilds) {

  /** What happened between {@code earlier} and this snapshot. */
  public Stats since(Stats earlier) {
    return new Stats(kernelsEnqueued - earlier.kernelsEnqueued, bytesToDevice - earlier.bytesToDevice,
        bytesFromDevice - earlier.bytesFromDevice, hostSynchronisations - earlier.hostSynchronisations,
        buffersAllocated - earlier.buffersAllocated, programBuilds - earlier.programBuilds);
  }

  @Override
  public String toString() {
    return "kernels=" + kernelsEnqueued + " toDevice=" + bytesToDevice + "B fromDevice=" + bytesFromDevice
        + "B syncs=" + hostSynchronisations + " buffers=" + buffersAllocated + " builds=" + programBuilds;
  }
}
