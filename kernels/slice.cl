#include "common.h"

/* A slice along one axis: x is [outer, size, inner], z is [outer, length, inner], and z's
 * positions 0 .. length-1 along the axis are x's start .. start+length-1. One work-item per
 * element of z. */
__kernel void slice_forward(const int outputs, const int size, const int inner, const int start,
                            const int length, __global const float *x, __global float *z) {
  const int e = get_global_id(0);
  if (e >= outputs) return;
  const int i = e % inner, j = (e / inner) % length, o = e / (inner * length);
  z[e] = x[(o * size + start + j) * inner + i];
}

/* dx (+)= dz at the slice's place and 0 elsewhere: one work-item per element of x, so that the
 * first writer of dx also writes its zeros. */
__kernel void slice_backward(const int inputs, const int size, const int inner, const int start,
                             const int length, __global const float *dz, __global float *dx,
                             const int acc) {
  const int e = get_global_id(0);
  if (e >= inputs) return;
  const int i = e % inner, k = (e / inner) % size - start, o = e / (inner * size);
  GRAD_WRITE(acc, dx[e], k >= 0 && k < length ? dz[(o * length + k) * inner + i] : 0.0f);
}
