package dev.nodal.parallel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Workers that are threads of one JVM (one per device of a host), meeting at a barrier. A sum
 * is computed once per element, by the rank that owns that element's segment and in the order
 * that {@link Collective} gives (the ring's), into a buffer that every rank then copies: the same
 * bits everywhere, and the same as a {@link RingCollective} of as many ranks.
 */
public final class ThreadCollective implements Collective {

  /** What the ranks of one group share. */
  private static final class Group {
    final int size;
    final long timeoutNanos;
    final CyclicBarrier barrier;
    final float[][] arrays;
    final int[] offsets, lengths;
    final String[] operations;
    float[] result = new float[0];
    String mismatch;
    /** Set when a rank leaves: every later operation of the group fails at once. */
    volatile String left;

    Group(int size, Duration timeout) {
      this.size = size;
      this.timeoutNanos = timeout.toNanos();
      this.arrays = new float[size][];
      this.offsets = new int[size];
      this.lengths = new int[size];
      this.operations = new String[size];
      // Runs once all ranks have posted their arrays, before any of them goes on.
      this.barrier = new CyclicBarrier(size, () -> {
        mismatch = null;
        for (int r = 1; r < size; r++) {
          if (!operations[r].equals(operations[0])) {
            mismatch = "rank " + r + " called " + operations[r] + ", rank 0 called " + operations[0];
          } else if (lengths[r] != lengths[0]) {
            mismatch = "rank " + r + " passed " + lengths[r] + " floats, rank 0 passed " + lengths[0];
          }
        }
        if (result.length < lengths[0]) result = new float[lengths[0]];
      });
    }
  }

  private final Group group;
  private final int rank;
  private boolean closed;

  private ThreadCollective(Group group, int rank) {
    this.group = group;
    this.rank = rank;
  }

  /**
   * The {@code size} members of one group, rank i at index i, each for its own thread. An
   * operation fails when the other ranks do not all arrive within {@code timeout}.
   */
  public static List<Collective> group(int size, Duration timeout) {
    if (size < 1) throw new IllegalArgumentException("a group needs at least 1 rank, got " + size);
    Group g = new Group(size, timeout);
    List<Collective> members = new ArrayList<>();
    for (int r = 0; r < size; r++) members.add(new ThreadCollective(g, r));
    return List.copyOf(members);
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return group.size;
  }

  @Override
  public void allReduceSum(float[] data, int offset, int length) {
    post("allReduceSum", data, offset, length);
    await("the sum");
    if (group.mismatch != null) throw new CollectiveException("allReduceSum: " + group.mismatch);
    // This rank's segment, each element summed in ring order from the next rank round to this one.
    int size = group.size;
    int from = Collective.segmentStart(length, size, rank), to = Collective.segmentStart(length, size, rank + 1);
    // Rank by rank over the segment, each element getting the same additions in the same order.
    int first = (rank + 1) % size;
    System.arraycopy(group.arrays[first], group.offsets[first] + from, group.result, from, to - from);
    for (int k = 2; k <= size; k++) {
      int r = (rank + k) % size;
      float[] a = group.arrays[r];
      for (int i = from, at = group.offsets[r] + from; i < to; i++, at++) group.result[i] += a[at];
    }
    await("the sum");
    System.arraycopy(group.result, 0, data, offset, length);
    await("the sum"); // nobody reuses the shared buffer before every rank has copied it
  }

  @Override
  public void broadcast(float[] data, int offset, int length, int root) {
    if (root < 0 || root >= group.size) throw new IllegalArgumentException("broadcast from rank " + root + " of " + group.size);
    post("broadcast from rank " + root, data, offset, length);
    await("the broadcast");
    if (group.mismatch != null) throw new CollectiveException("broadcast: " + group.mismatch);
    if (rank != root) System.arraycopy(group.arrays[root], group.offsets[root], data, offset, length);
    await("the broadcast");
  }

  @Override
  public void barrier() {
    post("barrier", new float[0], 0, 0);
    await("the barrier");
    if (group.mismatch != null) throw new CollectiveException("barrier: " + group.mismatch);
  }

  private void post(String operation, float[] data, int offset, int length) {
    if (closed) throw new IllegalStateException("rank " + rank + ": the collective is closed");
    if (group.left != null) throw new CollectiveException("rank " + rank + ": " + group.left + " left the group");
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    group.operations[rank] = operation;
    group.arrays[rank] = data;
    group.offsets[rank] = offset;
    group.lengths[rank] = length;
  }

  private void await(String what) {
    try {
      group.barrier.await(group.timeoutNanos, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: the other ranks of %d did not reach %s within %d ms", rank,
          group.size, what, TimeUnit.NANOSECONDS.toMillis(group.timeoutNanos)), e);
    } catch (BrokenBarrierException e) {
      throw new CollectiveException("rank " + rank + ": another rank failed or left during " + what, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollectiveException("rank " + rank + ": interrupted during " + what, e);
    }
  }

  /** Leaves the group: ranks waiting for this one fail at once instead of at their timeout. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      group.left = "rank " + rank;
      group.barrier.reset();
    }
  }
}
