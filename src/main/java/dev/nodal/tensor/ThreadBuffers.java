package dev.nodal.tensor;

import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;

/**
 * Float arrays kept per thread and reused, for buffers that one task fills and reads at once (a
 * convolution's patch matrix), so that each stays warm in its core's cache. A thread-local would
 * not do: the common fork-join pool clears its workers' thread-locals after each task. Threads
 * are held weakly, so a worker that ends takes its buffers with it.
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
    float[][] set = byThread.computeIfAbsent(Thread.currentThread(), t -> new float[arrays][0]);
    return Scratch.grow(set, i, size);
  }
}
