package dev.nodal.data;

import java.util.Iterator;

/**
 * The training batches of a run, epoch by epoch: the batches of epoch e depend only on the data,
 * the seed and e, so a run resumed at an epoch's start sees the same batches as one that never
 * stopped.
 */
public interface Batches extends AutoCloseable {
  /** Steps in each epoch. */
  int batchesPerEpoch();

  /** The batches of epoch {@code epoch} (0-based). */
  Iterator<BatchLoader.Batch> epoch(int epoch);

  /** Batches of {@code perEpoch} steps whose epoch e is {@code epochs.apply(e)}, holding nothing to release. */
  static Batches of(int perEpoch, java.util.function.IntFunction<Iterator<BatchLoader.Batch>> epochs) {
    return new Batches() {
      @Override
      public int batchesPerEpoch() {
        return perEpoch;
      }

      @Override
      public Iterator<BatchLoader.Batch> epoch(int epoch) {
        return epochs.apply(epoch);
      }
    };
  }

  /** Releases what the batches hold; nothing, unless they prefetch. */
  @Override
  default void close() {}
}
