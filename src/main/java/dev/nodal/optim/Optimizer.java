package dev.nodal.optim;

import dev.nodal.graph.Kernel;
import java.util.List;

/**
 * A rule that updates every parameter from its summed gradient: a {@link OptimizerSpec spec}
 * (kind and hyper-parameters, immutable), state arrays per parameter ({@link #slots()}, kept by
 * the session, zero at the start), and scalar state kept here: the step count and, once
 * attached, a learning-rate {@link Schedule}. Like an op it carries its own CPU code and names
 * its own kernel of the program {@value #PROGRAM}, so backends never dispatch on its class.
 *
 * <p>A session calls {@link #beginStep()} once per {@code update()}, then applies
 * {@link #update} to each parameter (CPU) or launches {@link #kernel()} over all of them with
 * {@link #hyperParameters()} (OpenCL). Every optimizer can clip the global gradient norm first
 * ({@link #clipNorm()}), as {@code torch.nn.utils.clip_grad_norm_}.
 *
 * <p>The learning rate of update t (counted from 1) is the spec's, or with a schedule attached
 * the schedule's rate of step t − 1 of the run, as PyTorch's {@code lr_scheduler} stepped once
 * per update gives it. Since the count is the optimizer's own, an optimizer restored to step t
 * ({@link #setStep}) goes on with the rates of an uninterrupted run.
 */
public interface Optimizer {
  /** The kernel program that holds every optimizer's update kernel (and the gradient norm's). */
  String PROGRAM = "optim";

  /** Sums the squared gradients, for clipping: {@code grad_norm_sq(n, g, norm_sq, scratch)}. */
  Kernel GRAD_NORM_SQ = Kernel.of(PROGRAM, "grad_norm_sq").ints("n").buffers("g", "norm_sq").groupScratch("scratch");

  /** What this optimizer is: kind and hyper-parameters. */
  OptimizerSpec spec();

  /** {@code sgd}, {@code adam} or {@code adamw}: the name in checkpoints and on the command line. */
  default String name() {
    return spec().name();
  }

  /** The names of the per-parameter state arrays, for example {@code [exp_avg, exp_avg_sq]}. */
  default List<String> slots() {
    return spec().slots();
  }

  default int stateSlots() {
    return slots().size();
  }

  /**
   * Attaches a schedule over a run of {@code totalSteps} updates (the steps a cosine spans when
   * it names no {@code t_max}), replacing any attached before; returns this optimizer.
   */
  Optimizer schedule(Schedule schedule, long totalSteps);

  /** The schedule attached, or null: the spec's rate at every update. */
  Schedule schedule();

  /** The run's length the schedule was attached with; 0 without a schedule. */
  long totalSteps();

  /**
   * The learning rate of the current update: the one {@link #beginStep()} began last, or the
   * first before any has begun.
   */
  float learningRate();

  /** The global gradient norm that updates clip to; 0 when they do not clip. */
  default float clipNorm() {
    return spec().clipNorm();
  }

  /** Updates begun so far. */
  long step();

  /** Restores the step count (from a checkpoint); the schedule's rate follows it. */
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
