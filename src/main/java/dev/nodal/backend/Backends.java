package dev.nodal.backend;

import dev.nodal.backend.cpu.CpuBackend;

/** Entry point for choosing a backend. */
public final class Backends {
  private Backends() {}

  /** The pure-Java CPU backend. */
  public static Backend cpu() {
    return new CpuBackend();
  }
}
