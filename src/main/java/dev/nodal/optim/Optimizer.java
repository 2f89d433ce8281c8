package dev.nodal.optim;

import dev.nodal.graph.Kernel;
import java.util.List;
import java.util.Map;

/**
 * A rule that updates every parameter from its summed gradient: a named spec with
 * hyper-parameters ({@link #attributes()}, read back by {@link Optimizers#create}), state arrays
 * per parameter ({@link #slots()}, kept by the session, zero at the start) and scalar state (the
 * step count, kept here). Like an op it carries its own CPU code and names its own kernel of the
 * program {@value #PROGRAM}, so backends never dispatch on its class.
 *
 * <p>A session calls {@link #beginStep()} once per {@code update()}, then applies
 * {@link #update} to each parameter (CPU) or launches {@link #kernel()} over all of them with
 * {@link #hyperParameters()} (OpenCL). Every optimizer can clip the global gradient norm first
 * ({@link #clipNorm()}), as {@code torch.nn.utils.clip_grad_norm_}.
 */
public interface Optimizer {
  /** The kernel program that holds every optimizer's update kernel (and the gradient norm's). */
  String PROGRAM = "optim";

  /** Sums the squared gradients, for clipping: {@code grad_norm_sq(n, g, norm_sq, scratch)}. */
  Kernel GRAD_NORM_SQ = Kernel.of(PROGRAM, "grad_norm_sq").ints("n").buffers("g", "norm_sq").groupScratch("scratch");

  /** {@code sgd}, {@code adam} or {@code adamw}: the name in checkpoints and on the command line. */
  String name();

  /** The hyper-parameters by their file names ({@code lr}, {@code momentum}, ...). */
  Map<String, Object> attributes();

  /** The names of the per-parameter state arrays, for example {@code [exp_avg, exp_avg_sq]}. */
  List<String> slots();

  default int stateSlots() {
    return slots().size();
  }

  float learningRate();

  /** Changes the learning rate from the next step on (schedules call it). */
  void setLearningRate(float learningRate);

  /** The global gradient norm that updates clip to; 0 when they do not clip. */
  float clipNorm();

  /** Updates done so far. */
  long step();

  /** Restores the step count (from a checkpoint). */
  void setStep(long step);

  /** Counts one more update; called by sessions once per {@code update()}, before it. */
  void beginStep();

  /**
   * Updates {@code param[0..n)} in place from {@code gradScale · grad} (the scale clips the global
   * norm; 1 without clipping), on the CPU.
   */
  void update(float[] param, float[] grad, float gradScale, float[][] state, int n);

  /**
   * The update kernel, of the program {@value #PROGRAM}. Its parameters: parameters, gradients,
   * one buffer per state slot, the squared global gradient norm, the element count, then one float
   * per {@link #hyperParameters()} entry; the plan checks the count and types.
   */
  Kernel kernel();

  /**
   * The kernel's scalars for the current step: learning rate, weight decay and clipping norm,
   * then the optimizer's own. Read after {@link #beginStep()}.
   */
  float[] hyperParameters();
}
