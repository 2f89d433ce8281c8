package dev.nodal.tensor;

import java.util.Arrays;

/**
 * The dimensions of a node's value, row-major. The first dimension may be {@link #BATCH}, a
 * placeholder for the number of examples in a step, fixed only when a batch is run. A shape
 * with no dimensions is a scalar (one element).
 */
public final class Shape {
  /** Placeholder for the batch dimension, printed as {@code N}. */
  public static final int BATCH = -1;

  private final int[] dims;

  private Shape(int[] dims) {
    this.dims = dims;
  }

  /** The most elements an example may have: what one Java array (and one buffer) holds. */
  public static final int MAX_ELEMENTS = Integer.MAX_VALUE - 8;

  /**
   * A shape with the given dimensions; only the first may be {@link #BATCH}. The elements of an
   * example must fit one array ({@link #MAX_ELEMENTS}).
   */
  public static Shape of(int... dims) {
    long elements = 1;
    for (int i = 0; i < dims.length; i++) {
      if (dims[i] == BATCH && i == 0) continue;
      if (dims[i] <= 0) {
        throw new IllegalArgumentException(
            "shape " + Arrays.toString(dims) + ": dimension " + i + " must be positive"
                + (i == 0 ? " or Shape.BATCH" : ""));
      }
      elements *= dims[i];
      if (elements > MAX_ELEMENTS) {
        throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " has more elements than one buffer holds ("
            + MAX_ELEMENTS + ")");
      }
    }
    return new Shape(dims.clone());
  }

  /** A batch of examples, each with the given dimensions: {@code [N, dims...]}. */
  public static Shape batchOf(int... exampleDims) {
    int[] d = new int[exampleDims.length + 1];
    d[0] = BATCH;
    System.arraycopy(exampleDims, 0, d, 1, exampleDims.length);
    return of(d);
  }

  public static Shape scalar() {
    return new Shape(new int[0]);
  }

  public int rank() {
    return dims.length;
  }

  public int dim(int i) {
    return dims[i < 0 ? dims.length + i : i];
  }

  public int[] dims() {
    return dims.clone();
  }

  public boolean isScalar() {
    return dims.length == 0;
  }

  public boolean hasBatch() {
    return dims.length > 0 && dims[0] == BATCH;
  }

  /** Number of elements per batch example: the product of every dimension but a batch one. */
  public int exampleSize() {
    int n = 1;
    for (int i = hasBatch() ? 1 : 0; i < dims.length; i++) n *= dims[i];
    return n;
  }

  /** Number of elements when the batch dimension, if any, is {@code batch}. */
  public int size(int batch) {
    return hasBatch() ? batch * exampleSize() : exampleSize();
  }

  /** The shape with the batch dimension, if any, replaced by {@code batch}. */
  public Shape resolve(int batch) {
    if (!hasBatch()) return this;
    int[] d = dims.clone();
    d[0] = batch;
    return new Shape(d);
  }

  /** True when {@code other} equals the trailing dimensions of this shape. */
  public boolean endsWith(Shape other) {
    if (other.rank() > rank()) return false;
    int off = rank() - other.rank();
    for (int i = 0; i < other.rank(); i++) if (dims[off + i] != other.dims[i]) return false;
    return true;
  }

  @Override
  public boolean equals(Object o) {
    return o instanceof Shape s && Arrays.equals(dims, s.dims);
  }

  @Override
  public int hashCode() {
    return Arrays.hashCode(dims);
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("[");
    for (int i = 0; i < dims.length; i++) {
      if (i > 0) sb.append(", ");
      sb.append(dims[i] == BATCH ? "N" : Integer.toString(dims[i]));
    }
    return sb.append(']').toString();
  }
}
