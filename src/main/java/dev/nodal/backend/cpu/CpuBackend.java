package dev.nodal.backend.cpu;

import dev.nodal.backend.BackendBase;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;

/** The pure-Java backend: runs every op's own Java code on float arrays. Holds no native resource. */
public final class CpuBackend extends BackendBase {
  @Override
  public String name() {
    return "cpu";
  }

  @Override
  protected SessionBase newSession(Graph graph, CompileOptions options) {
    return new CpuSession(graph, options);
  }

  @Override
  public DeviceTraits traits() {
    return DeviceTraits.CPU;
  }

  @Override
  protected void release() {}
}
