package dev.nodal.parallel;

/**
 * The operations that keep data-parallel workers in step: each of {@link #size()} workers holds a
 * {@link #rank()} and calls the same operations in the same order.
 *
 * <p>Sums are exact replicas of one serial sum: every rank ends with the bits of
 * {@code ((x_0 + x_1) + x_2) + … + x_{size−1}}, added in rank order, so replicas that apply the
 * same update to the same weights stay bitwise identical without ever sending weights. A peer
 * that stops answering fails the operation with a {@link CollectiveException} naming it, after the
 * implementation's timeout, rather than hanging.
 */
public interface Collective extends AutoCloseable {

  /** This worker's place, 0 to {@code size() − 1}. */
  int rank();

  /** How many workers take part. */
  int size();

  /**
   * Replaces {@code data[offset .. offset + length)} on every rank with the sum over ranks of
   * that range, added in rank order. Every rank passes the same length.
   */
  void allReduceSum(float[] data, int offset, int length);

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
