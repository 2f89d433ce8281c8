package dev.nodal.plan;

import dev.nodal.graph.Graph;
import dev.nodal.optim.Optimizer;
import java.util.List;

/**
 * Builds the {@link StepPlan} of a graph for a device: memory once, for the largest batch
 * ({@link MemoryLayout}); the launches of a step per batch size and the update launch per
 * optimizer ({@link LaunchRecorder}). Pure Java: tested, counted and printed without a device.
 */
public final class Planner {
  private final DeviceTraits device;
  private final StepPlan plan;
  private final LaunchRecorder launches;

  /** Plans memory for batches of up to {@code maxBatch}, keeping what {@code keep} names. */
  public Planner(Graph graph, int maxBatch, Keep keep, DeviceTraits device) {
    this.device = device;
    this.plan = MemoryLayout.of(graph, maxBatch, keep, device);
    this.launches = new LaunchRecorder(graph, device, plan);
  }

  public StepPlan plan() {
    return plan;
  }

  public DeviceTraits device() {
    return device;
  }

  /** The launches of a training step at {@code batch} examples. */
  public StepPlan.Steps steps(int batch) {
    return steps(batch, true);
  }

  /**
   * The launches of a step at {@code batch} examples, in training or evaluation mode; a step in
   * evaluation mode has no backward launches (backward needs a forward in training mode).
   */
  public StepPlan.Steps steps(int batch, boolean training) {
    return launches.steps(batch, training);
  }

  /**
   * The update of every parameter at once: one launch over the flat blocks, after one that sums
   * the squared gradients when the optimizer clips the global norm.
   */
  public List<Launch> update(Optimizer optimizer) {
    return launches.update(optimizer);
  }
}
