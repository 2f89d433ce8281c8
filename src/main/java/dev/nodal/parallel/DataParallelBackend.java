package dev.nodal.parallel;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Several devices of one host as one backend: {@link #compile} gives a
 * {@link DataParallelSession} with a replica on each device, its workers in threads of this JVM
 * summing gradients through a {@link ThreadCollective}. Anything that drives a session (the
 * trainer, evaluation, checkpoints) then trains on all the devices unchanged.
 */
public final class DataParallelBackend implements Backend {
  /** How long a worker waits for the others at a sum before the step fails. */
  static final Duration TIMEOUT = Duration.ofMinutes(10);

  private final List<Backend> devices;

  /**
   * Takes over {@code devices} (at least one), closing them with this backend. They must be of
   * one kind (equal {@link Backend#traits()}: the same backend, device model and limits), since
   * replicas stay identical only by computing every update alike; otherwise they are closed and
   * refused.
   */
  public DataParallelBackend(List<Backend> devices) {
    if (devices.isEmpty()) throw new IllegalArgumentException("data parallelism needs at least one device");
    for (Backend d : devices) {
      if (!d.traits().equals(devices.get(0).traits())) {
        String names = devices.stream().map(Backend::name).collect(Collectors.joining(", "));
        for (Backend b : devices) b.close();
        throw new IllegalArgumentException("data-parallel devices must be of one kind, so that every replica computes "
            + "the same update: " + names);
      }
    }
    this.devices = List.copyOf(devices);
  }

  @Override
  public String name() {
    return "data-parallel over " + devices.size() + " (" + devices.stream().map(Backend::name)
        .collect(Collectors.joining(", ")) + ")";
  }

  /**
   * A replica per device, each compiled for an equal share of {@code options.maxBatch()}
   * (rounded up), with the same options otherwise.
   */
  @Override
  public Session compile(Graph graph, CompileOptions options) {
    int share = (options.maxBatch() + devices.size() - 1) / devices.size();
    CompileOptions each = new CompileOptions(share, options.keepEverything(), options.keep(), options.checkNumerics());
    List<Session> replicas = new ArrayList<>();
    try {
      for (Backend d : devices) replicas.add(d.compile(graph, each));
    } catch (RuntimeException e) {
      for (Session s : replicas) s.close();
      throw e;
    }
    try {
      return new DataParallelSession(graph, options, replicas, ThreadCollective.group(devices.size(), TIMEOUT));
    } catch (RuntimeException e) {
      for (Session s : replicas) s.close();
      throw e;
    }
  }

  /** The first device's: plans are made per replica, on its own device. */
  @Override
  public DeviceTraits traits() {
    return devices.get(0).traits();
  }

  @Override
  public void close() {
    for (Backend d : devices) d.close();
  }
}
