package dev.nodal.graph;

import dev.nodal.tensor.Shape;

/**
 * What an op sees of a device when it describes its kernels: handles to the buffers of its node
 * and calls that enqueue kernels of {@code kernels/}. The backend records the launches once per
 * batch size, with every argument fixed, and replays them on each step; an op never touches a
 * device directly.
 *
 * <p>Kernel arguments are passed in the kernel's order: a {@link Buffer}, an {@link Integer}
 * (OpenCL {@code int}) or a {@link Float} ({@code float}).
 */
public interface Launcher {

  /** An opaque handle to a device buffer. */
  interface Buffer {}

  /** Shape of input {@code i}, batch resolved. */
  Shape inShape(int i);

  /** Shape of the output, batch resolved. */
  Shape outShape();

  Buffer in(int i);

  Buffer out();

  /** Workspace buffer {@code i} of the op's {@link Op#workspace} list. */
  Buffer work(int i);

  /** True when these launches are for training mode, false for evaluation. */
  boolean training();

  /**
   * A kernel argument ({@code int}) that holds the optimizer's step count, wrapping, set anew
   * before each pass: see {@link Pass#step}.
   */
  Object step();

  /** The gradient of the output (backward only). */
  Buffer dOut();

  /** The gradient buffer of input {@code i}, or null when that input needs none (backward only). */
  Buffer dIn(int i);

  /**
   * The write-or-add flag for a launch that writes {@link #dIn(int) dIn(i)}: 0 when it is the
   * first write to that gradient in this backward pass (the kernel overwrites, so no launch zeroes
   * gradients), 1 after that (the kernel adds, which sums fan-out and weight sharing). Call it
   * once per such launch, in launch order: the call records the write. Pass it as the kernel's
   * {@code acc} argument, or as gemm's {@code beta}.
   */
  int accumulate(int i);

  /** A number of work-items, typed so that it cannot be mistaken for a kernel's int argument. */
  record WorkItems(int count) {}

  /** {@code launch(file, kernel, over(n), args...)}: a launch over {@code n} work-items. */
  static WorkItems over(int count) {
    return new WorkItems(count);
  }

  /**
   * Enqueues {@code kernel} of {@code kernels/<file>} over {@code items} work-items in one
   * dimension; the global size is rounded up to the work-group size, so the kernel must ignore
   * ids at or past its own bound.
   */
  void launch(String file, String kernel, WorkItems items, Object... args);

  /**
   * Enqueues {@code kernel} as a single work-group whose size is a power of two, for reductions;
   * a {@code __local float} scratch array of one element per work-item is appended as the last
   * argument.
   */
  default void launchGroup(String file, String kernel, Object... args) {
    launchGroups(file, kernel, 1, args);
  }

  /**
   * Enqueues {@code kernel} as {@code groups} work-groups, each of a power-of-two size, for
   * reductions of many rows at once (one row per group, for example a channel's sum over
   * N·H·W); a {@code __local float} scratch array of one element per work-item is appended as the
   * last argument. The kernel reads its row from {@code get_group_id(0)}.
   */
  void launchGroups(String file, String kernel, int groups, Object... args);

  /**
   * {@code C = alpha·op(A)·op(B) + beta·C} on {@code gemm.cl}, with the conventions of
   * {@link dev.nodal.tensor.Blas#gemm}: row-major, {@code op(A)} M×K, {@code op(B)} K×N.
   */
  void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Buffer a, Buffer b,
      float beta, Buffer c);
}
