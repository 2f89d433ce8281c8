package dev.nodal.ops;

import java.util.stream.IntStream;

/**
 * Loops over independent rows (or slices) in CPU code: on the common fork-join pool when they hold
 * enough elements to pay for waking it, else on the calling thread. A softmax cross-entropy over
 * a batch of 128 rows of 10 classes took longer in parallel than alone.
 */
final class Rows {
  private Rows() {}

  /** Elements below which a loop stays on the calling thread, as {@link Activation#CHUNK}'s two chunks. */
  static final long PARALLEL_ELEMENTS = 2L * Activation.CHUNK;

  /** {@code [0, count)}, parallel when the loop touches at least {@link #PARALLEL_ELEMENTS} elements. */
  static IntStream range(int count, long elements) {
    IntStream range = IntStream.range(0, count);
    return elements >= PARALLEL_ELEMENTS ? range.parallel() : range;
  }
}
