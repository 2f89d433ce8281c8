package dev.nodal.tensor;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Float arrays kept per thread and reused, for buffers that one piece of work fills and reads at
 * once (the GEMM's packed panels, a convolution's patch matrix), so that each stays warm in its
 * core's cache and nothing is allocated once warm. A thread-local would not do: the common
 * fork-join pool clears its workers' thread-locals after each task (measured: 66 of 100 rounds of
 * tasks re-created a worker's). Threads are held weakly, so a worker that ends takes its buffers
 * with it. Two users of one instance must not hold its arrays on one thread at once.
 */
public final class ThreadBuffers {
  private final int arrays;
  private final Map<Thread, float[][]> byThread = Collections.synchronizedMap(new WeakHashMap<>());

  /** Sets of {@code arrays} arrays, one set per thread. */
  public ThreadBuffers(int arrays) {
    this.arrays = arrays;
  }

  /** Array {@code i} of the calling thread's set, at least {@code size} long. */
  public float[] get(int i, int size) {
    return grow(set(), i, size);
  }

  /** The calling thread's whole set, for a caller that needs several of its arrays: see {@link #grow}. */
  public float[][] set() {
    Thread t = Thread.currentThread();
    float[][] set = byThread.get(t);
    if (set == null) { // only this thread adds its own key
      set = new float[arrays][0];
      byThread.put(t, set);
    }
    return set;
  }

  /** Array {@code i} of {@code set}, at least {@code size} long. */
  public static float[] grow(float[][] set, int i, int size) {
    if (set[i].length < size) set[i] = new float[size];
    return set[i];
  }
}
