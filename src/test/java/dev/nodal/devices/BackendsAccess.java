package dev.nodal.devices;

import dev.nodal.backend.Backend;
import dev.nodal.backend.opencl.OpenCl;

/** Lets tests of other packages open a backend against a given discovery result. */
public final class BackendsAccess {
  private BackendsAccess() {}

  public static Backend open(String selector, OpenCl.Probe probe) {
    return Backends.open(selector, probe);
  }
}
