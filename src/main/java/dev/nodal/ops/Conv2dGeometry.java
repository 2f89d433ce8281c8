package dev.nodal.ops;

import dev.nodal.tensor.Shape;

/** A convolution's sizes for resolved shapes, as its CPU loops and its kernels need them. */
record Conv2dGeometry(int n, int c, int h, int w, int k, int p, int q, int r, int s, int cg, int kg) {
  static Conv2dGeometry of(Shape x, Shape w, Shape z, int groups) {
    return new Conv2dGeometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), z.dim(2), z.dim(3), w.dim(2), w.dim(3),
        x.dim(1) / groups, w.dim(0) / groups);
  }
}
