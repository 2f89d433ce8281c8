package dev.nodal.tensor;


/**
 * A view of a float array as a tensor of a resolved shape (no batch placeholder). The array may be
 * longer than the shape needs: buffers are sized for the largest batch and reused for smaller
 * ones. Row-major; the first {@link #size()} elements are the tensor.
 */
public final class CpuTensor {
  public final float[] data;
  public final Shape shape;
  private final int size;

  public CpuTensor(float[] data, Shape shape) {
    if (shape.hasBatch()) throw new IllegalArgumentException("unresolved batch dimension in " + shape);
    this.size = shape.size(0);
    if (data.length < size) {
      throw new IllegalArgumentException("array of " + data.length + " floats is too small for " + shape);
    }
    this.data = data;
    this.shape = shape;
  }

  public static CpuTensor zeros(Shape shape) {
    return new CpuTensor(new float[shape.size(0)], shape);
  }

  public int size() {
    return size;
  }

  public int dim(int i) {
    return shape.dim(i);
  }

  public void fill(float v) {
    java.util.Arrays.fill(data, 0, size, v);
  }
}
