package dev.nodal.backend;

/** A session's running counts; only its own session writes them. {@link Stats} is the snapshot. */
public final class Counters {
  public long kernelsEnqueued;
  public long bytesToDevice;
  public long bytesFromDevice;
  public long hostSynchronisations;
  public long buffersAllocated;

  Stats snapshot(long programBuilds) {
    return new Stats(kernelsEnqueued, bytesToDevice, bytesFromDevice, hostSynchronisations, buffersAllocated,
        programBuilds);
  }
}
