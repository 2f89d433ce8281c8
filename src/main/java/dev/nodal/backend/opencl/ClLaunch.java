package dev.nodal.backend.opencl;

import java.util.List;

/**
 * A plan's launch lowered to OpenCL: the file of {@code kernels/} and its {@code -D} defines, the
 * kernel function, its arguments in order (the plan's {@link dev.nodal.plan.Launch.Arg}s and
 * {@link Local} arrays), and the global and local sizes.
 */
record ClLaunch(String node, String file, String defines, String function, List<Object> args, long[] global,
    long[] local) {
  /** A {@code __local} array of this many bytes. */
  record Local(long bytes) {}

  String describe() {
    return "kernel " + function + " of " + file + (defines.isEmpty() ? "" : " [" + defines + "]") + " (node " + node + ")";
  }
}
