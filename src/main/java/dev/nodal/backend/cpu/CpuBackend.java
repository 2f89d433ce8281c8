package dev.nodal.backend.cpu;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;

/** The pure-Java backend: runs every op's own Java code on float arrays. Holds no native resource. */
public final class CpuBackend implements Backend {
  @Override
  public String name() {
    return "cpu";
  }

  @Override
  public Session compile(Graph graph, CompileOptions options) {
    return new CpuSession(graph, options);
  }

  @Override
  public void close() {}
}
