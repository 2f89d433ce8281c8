package dev.nodal.parallel;

/**
 * The operations that keep data-parallel workers in step: each of {@link #size()} workers holds a
 * {@link #rank()} and calls the same operations in the same order.
 *
 * <p>Every rank ends a sum with the same bits, so that replicas that apply the same update to the
 * same weights stay bitwise identical without ever sending weights; and the bits depend on the
 * inputs and the number of ranks alone, not on timing or on the implementation. The range is cut
 * into {@code size} segments ({@link #segmentStart}); an element of segment j is summed in ring
 * order starting after rank j: {@code ((x_{j+1} + x_{j+2}) + …) + x_j}, ranks modulo the size. With
 * one or two ranks that is the serial sum {@code x_0 + x_1} (addition commutes); with more, each
 * segment starts its sum at a different rank, as a ring all-reduce does. A peer that stops
 * answering fails the operation with a {@link CollectiveException} naming it, after the
 * implementation's timeout, rather than hanging.
 */
public interface Collective extends AutoCloseable {

  /** This worker's place, 0 to {@code size() − 1}. */
  int rank();

  /** How many workers take part. */
  int size();

  /**
   * Replaces {@code data[offset .. offset + length)} on every rank with the sum over ranks of
   * that range, added in the order the class comment gives. Every rank passes the same length.
   */
  void allReduceSum(float[] data, int offset, int length);

  /**
   * Where segment {@code j} of a range of {@code length} floats cut among {@code size} ranks
   * begins (segment j ends where j + 1 begins; {@code segmentStart(length, size, size) == length}).
   */
  static int segmentStart(int length, int size, int j) {
    return (int) ((long) length * j / size);
  }

  /** {@link #allReduceSum(float[], int, int)} over the whole array. */
  default void allReduceSum(float[] data) {
    allReduceSum(data, 0, data.length);
  }

  /** Replaces {@code data[offset .. offset + length)} on every rank with {@code root}'s. */
  void broadcast(float[] data, int offset, int length, int root);

  /** Returns once every rank has called it. */
  void barrier();

  /** Releases the connections or threads; the collective cannot be used afterwards. */
  @Override
  void close();

  /** The collective of a worker alone: sums and broadcasts leave the data as it is. */
  static Collective single() {
    return new Collective() {
      @Override
      public int rank() {
        return 0;
      }

      @Override
      public int size() {
        return 1;
      }

      @Override
      public void allReduceSum(float[] data, int offset, int length) {
        java.util.Objects.checkFromIndexSize(offset, length, data.length);
      }

      @Override
      public void broadcast(float[] data, int offset, int length, int root) {
        java.util.Objects.checkFromIndexSize(offset, length, data.length);
        if (root != 0) throw new IllegalArgumentException("broadcast from rank " + root + " in a group of 1");
      }

      @Override
      public void barrier() {}

      @Override
      public void close() {}
    };
  }
}
