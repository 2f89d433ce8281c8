package dev.nodal.backend;

import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;

/**
 * Where graphs run: the pure-Java CPU or one OpenCL device. A backend owns native resources
 * (contexts, queues, programs) and must be closed; closing it closes the sessions compiled on it,
 * so it must not be closed while another thread still drives one of them.
 */
public interface Backend extends AutoCloseable {

  /** Short description, for example {@code cpu} or {@code opencl:0:0 NVIDIA H100 80GB HBM3}. */
  String name();

  /**
   * Compiles {@code graph}: fixes the order, every shape, every buffer and everything a step
   * needs, so that running a step allocates nothing.
   */
  Session compile(Graph graph, CompileOptions options);

  /** Compiles for batches of up to {@code maxBatch} examples, with default options. */
  default Session compile(Graph graph, int maxBatch) {
    return compile(graph, CompileOptions.maxBatch(maxBatch));
  }

  /** What step plans for this backend's device need to know (work-group limits, alignment, tiles). */
  DeviceTraits traits();

  @Override
  void close();
}
