package dev.nodal.data;

import java.util.Iterator;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Cuts a data set into batches for one epoch: a seeded shuffle (the order of epoch e depends only
 * on the seed and e, so a resumed run sees the same batches), every example once, and a last,
 * smaller batch when the size is not a multiple of the batch size. The next batch is assembled
 * on a background thread while the current one trains.
 */
public final class BatchLoader implements Batches {
  private final Dataset data;
  private final int batchSize;
  private final boolean shuffle;
  private final long seed;
  private final ExecutorService prefetch = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "nodal-prefetch");
    t.setDaemon(true);
    return t;
  });

  /**
   * One batch: {@code n} rows of features and their labels, one label per row or, for a sequence,
   * one per position of each row.
   */
  public record Batch(float[] features, float[] labels, int n) {}

  public BatchLoader(Dataset data, int batchSize, boolean shuffle, long seed) {
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
    this.data = data;
    this.batchSize = batchSize;
    this.shuffle = shuffle;
    this.seed = seed;
  }

  @Override
  public int batchesPerEpoch() {
    return (data.size() + batchSize - 1) / batchSize;
  }

  /** The example order of epoch {@code epoch} (0-based). */
  public int[] order(int epoch) {
    int[] idx = new int[data.size()];
    for (int i = 0; i < idx.length; i++) idx[i] = i;
    if (shuffle) {
      SplittableRandom r = new SplittableRandom(seed * 1_000_003L + epoch);
      for (int i = idx.length - 1; i > 0; i--) {
        int j = r.nextInt(i + 1);
        int t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
    }
    return idx;
  }

  /** The batches of one epoch, each prepared while the previous one is in use. */
  @Override
  public Iterator<Batch> epoch(int epoch) {
    int[] order = order(epoch);
    int count = batchesPerEpoch();
    return new Iterator<>() {
      private int next = 0;
      private Future<Batch> pending = count > 0 ? prefetch.submit(() -> assemble(order, 0)) : null;

      @Override
      public boolean hasNext() {
        return next < count;
      }

      @Override
      public Batch next() {
        if (!hasNext()) throw new NoSuchElementException();
        Batch b;
        try {
          b = pending.get();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          throw new IllegalStateException("interrupted while loading a batch", e);
        } catch (java.util.concurrent.ExecutionException e) {
          throw new IllegalStateException("loading batch " + next + " failed: " + e.getCause(), e.getCause());
        }
        next++;
        int start = next;
        pending = next < count ? prefetch.submit(() -> assemble(order, start)) : null;
        return b;
      }
    };
  }

  private Batch assemble(int[] order, int index) {
    int from = index * batchSize, n = Math.min(batchSize, order.length - from), per = data.featureSize();
    float[] x = new float[n * per];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      int e = order[from + i];
      System.arraycopy(data.features(), e * per, x, i * per, per);
      y[i] = data.labels()[e];
    }
    return new Batch(x, y, n);
  }

  @Override
  public void close() {
    prefetch.shutdownNow();
  }
}
