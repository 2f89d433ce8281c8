package dev.nodal.tensor;

import java.util.concurrent.ArrayBlockingQueue;

/**
 * Reusable float arrays for work that runs on the common fork-join pool. A thread-local would not
 * do: the common pool's workers drop their thread-locals after each task, so every task would
 * allocate its buffers anew (hundreds of kilobytes per product, measured). A task takes a set of
 * arrays, grows what it needs, and gives the set back; once warm, nothing is allocated.
 */
public final class Scratch {
  private final int arrays;
  private final ArrayBlockingQueue<float[][]> free = new ArrayBlockingQueue<>(64);

  /** A pool of sets of {@code arrays} arrays each. */
  public Scratch(int arrays) {
    this.arrays = arrays;
  }

  /** A set of arrays, some of them perhaps too small: see {@link #grow}. */
  public float[][] take() {
    float[][] set = free.poll();
    return set != null ? set : new float[arrays][0];
  }

  /** Gives a set back for the next task (dropped when the pool is full). */
  public void give(float[][] set) {
    free.offer(set);
  }

  /** Array {@code i} of the set, at least {@code size} long. */
  public static float[] grow(float[][] set, int i, int size) {
    if (set[i].length < size) set[i] = new float[size];
    return set[i];
  }
}
