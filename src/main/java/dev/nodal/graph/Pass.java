package dev.nodal.graph;

import dev.nodal.tensor.CpuTensor;

/**
 * What an op's CPU code sees of the pass it runs in, beyond its tensors: the mode, the step that
 * seeds its randomness, and the workspace it declared ({@link Op#workspace}).
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

  /** Workspace tensor {@code i} of the op's {@link Op#workspace} list, batch resolved. */
  CpuTensor work(int i);

  /** A pass of the given mode and step with the given workspace (for tests and single op calls). */
  static Pass of(boolean training, long step, CpuTensor... work) {
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
    };
  }

  /** Training mode at step 0, for ops that declare no workspace. */
  Pass TRAINING = of(true, 0);
}
