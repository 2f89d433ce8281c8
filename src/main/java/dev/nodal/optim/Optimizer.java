package dev.nodal.optim;

/**
 * A rule that updates each parameter from its summed gradient. Like an op it carries its own CPU
 * code and names its own OpenCL kernel (in {@code kernels/optim.cl}), so backends do not dispatch
 * on its class. State (for example momentum) lives in the session, {@link #stateSlots()} arrays
 * of the parameter's size per parameter, zero at the start.
 */
public interface Optimizer {
  /** The file of {@code kernels/} that holds every optimizer's update kernel. */
  String KERNEL_FILE = "optim.cl";

  /** For messages and checkpoints: {@code sgd}. */
  String name();

  /** Arrays of state per parameter, each the size of the parameter. */
  int stateSlots();

  /** Updates {@code param[0..n)} in place from {@code grad}. */
  void update(float[] param, float[] grad, float[][] state, int n);

  /**
   * The kernel of {@code optim.cl} that applies the update. Its arguments are the parameter,
   * the gradient, one buffer per state slot, the element count (int) and {@link #hyperParameters()}
   * (floats), in that order.
   */
  String kernel();

  /** Scalar arguments of the kernel; read before every update, so schedules can change them. */
  float[] hyperParameters();
}
