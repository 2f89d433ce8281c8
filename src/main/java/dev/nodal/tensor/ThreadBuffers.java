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
 *
 * <p>CPU code gets its pools from its backend's {@link CpuContext#buffers}, by a {@link Key} of its
 * own, never from a static field: each backend keeps its own.
 */
public final class ThreadBuffers {
  /**
   * A kind of scratch that CPU code asks its {@link CpuContext} for: equal only to itself, so code
   * keeps its keys in constants (immutable, unlike the buffers) and no two pieces of code share a
   * pool by accident.
   */
  public static final class Key {
    private final String name;
    private final int arrays;

    /** A kind of scratch named {@code name} (for messages), of {@code arrays} arrays per thread. */
    public Key(String name, int arrays) {
      if (arrays < 1) throw new IllegalArgumentException("scratch '" + name + "' needs at least one array, got " + arrays);
      this.name = name;
      this.arrays = arrays;
    }

    public String name() {
      return name;
    }

    /** Arrays per thread. */
    public int arrays() {
      return arrays;
    }

    @Override
    public String toString() {
      return name;
    }
  }

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
