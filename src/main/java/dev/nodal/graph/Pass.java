package dev.nodal.graph;

import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuTensor;

/**
 * What an op's CPU code sees of the pass it runs in, beyond its tensors: the mode, the step that
 * seeds its randomness, the workspace it declared ({@link Op#workspace}), and the CPU context of
 * the backend that runs it (its options, its products, its scratch arrays).
 *
 * <p>Mode: in training, batch norm uses and records batch statistics and dropout drops; in
 * evaluation both are fixed functions. A backward pass always follows a forward in training mode.
 */
public interface Pass {

  /** True in training mode, false in evaluation mode. */
  boolean training();

  /**
   * The optimizer's step count when this pass runs (0 before any update): ops that draw random
   * numbers mix it into their seed, so each step draws anew and a resumed run draws as the
   * uninterrupted one would, on every backend alike.
   */
  long step();

  /**
   * In backward, true when this node is the first to write input {@code input}'s gradient in the
   * pass and its op {@link Op#overwritesGradients overwrites}: the op must then set every element
   * of that gradient rather than add to it. False otherwise, and always for ops that add.
   */
  default boolean overwrites(int input) {
    return false;
  }

  /** Workspace tensor {@code i} of the op's {@link Op#workspace} list, batch resolved. */
  CpuTensor work(int i);

  /**
   * The running backend's CPU context: products ({@link CpuContext#gemm}) follow its options, and
   * per-thread scratch comes from {@link CpuContext#buffers}, never from a static field of the op.
   */
  CpuContext cpu();

  /**
   * A pass of the given mode and step with the given workspace, on a CPU context of its own with
   * the default options (for tests and single op calls).
   */
  static Pass of(boolean training, long step, CpuTensor... work) {
    return of(CpuContext.defaults(), training, step, work);
  }

  /** A pass of the given mode and step with the given workspace, on {@code cpu}. */
  static Pass of(CpuContext cpu, boolean training, long step, CpuTensor... work) {
    if (cpu == null) throw new IllegalArgumentException("a pass needs a CPU context (CpuContext.defaults())");
    return new Pass() {
      @Override
      public boolean training() {
        return training;
      }

      @Override
      public long step() {
        return step;
      }

      @Override
      public CpuTensor work(int i) {
        return work[i];
      }

      @Override
      public CpuContext cpu() {
        return cpu;
      }
    };
  }
}
