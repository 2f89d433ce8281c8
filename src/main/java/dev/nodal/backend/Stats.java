package dev.nodal.backend;

/**
 * What a session has done so far, for tests and for the {@code bench} command. CPU sessions count
 * only what applies to them (no kernels, no transfers).
 */
public final class Stats {
  public long kernelsEnqueued;
  public long bytesToDevice;
  public long bytesFromDevice;
  public long hostSynchronisations;
  public long buffersAllocated;
  public long programBuilds;

  public Stats copy() {
    Stats s = new Stats();
    s.kernelsEnqueued = kernelsEnqueued;
    s.bytesToDevice = bytesToDevice;
    s.bytesFromDevice = bytesFromDevice;
    s.hostSynchronisations = hostSynchronisations;
    s.buffersAllocated = buffersAllocated;
    s.programBuilds = programBuilds;
    return s;
  }

  @Override
  public String toString() {
    return "kernels=" + kernelsEnqueued + " toDevice=" + bytesToDevice + "B fromDevice=" + bytesFromDevice
        + "B syncs=" + hostSynchronisations + " buffers=" + buffersAllocated + " builds=" + programBuilds;
  }
}
