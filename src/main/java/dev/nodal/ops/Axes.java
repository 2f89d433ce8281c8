package dev.nodal.ops;

import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Shape;

/** Axis numbers as PyTorch takes them: {@code -1} is the last axis, {@code -rank} the first. */
final class Axes {
  private Axes() {}

  /** {@code axis} counted from the front, for a shape of {@code rank} axes it is known to fit. */
  static int resolve(int axis, int rank) {
    return axis < 0 ? axis + rank : axis;
  }

  /**
   * {@code axis} of input 0 counted from the front; an error names the node, the input and the
   * attribute when the input has no such axis.
   */
  static int check(ShapeContext c, String attribute, int axis) {
    Shape x = c.in(0);
    if (axis < -x.rank() || axis >= x.rank()) {
      throw c.error("%s %d is out of range for input '%s' %s of rank %d (allowed: %d to %d)", attribute, axis,
          c.name(0), x, x.rank(), -x.rank(), x.rank() - 1);
    }
    return resolve(axis, x.rank());
  }

  /** Elements of {@code s} before {@code axis}: the product of dimensions 0 to axis − 1. */
  static int outer(Shape s, int axis) {
    int n = 1;
    for (int k = 0; k < axis; k++) n *= s.dim(k);
    return n;
  }

  /** Elements of {@code s} after {@code axis}: the product of the dimensions past it. */
  static int inner(Shape s, int axis) {
    int n = 1;
    for (int k = axis + 1; k < s.rank(); k++) n *= s.dim(k);
    return n;
  }

  /**
   * Dimension {@code i} of a shape of {@code rank} dimensions as {@code x} contributes to it when
   * shapes are aligned at their last dimension, PyTorch's broadcasting: 1 where x has none.
   */
  static int aligned(Shape x, int i, int rank) {
    int j = i - (rank - x.rank());
    return j < 0 ? 1 : x.dim(j);
  }

  /** A dimension as a shape prints it: {@code N} for the batch. */
  static String text(int dim) {
    return dim == Shape.BATCH ? "N" : Integer.toString(dim);
  }
}
