#include "common.h"

/* One input of a concatenation along an axis: x is [N, c, rest], z is [N, outC, rest], where N is
 * the product of the dimensions before the axis and rest of those after it, and this input's
 * positions start at position 'offset' of z's axis. One work-item per element of x. */
__kernel void concat_forward(const int size, const int c, const int rest, const int outC,
                             const int offset, __global const float *x, __global float *z) {
  const int e = get_global_id(0);
  if (e >= size) return;
  const int block = c * rest;
  const int n = e / block, within = e % block;
  z[(n * outC + offset) * rest + within] = x[e];
}

/* dx (+)= this input's slice of dz. */
__kernel void concat_backward(const int size, const int c, const int rest, const int outC,
                              const int offset, __global const float *dz, __global float *dx,
                              const int acc) {
  const int e = get_global_id(0);
  if (e >= size) return;
  const int block = c * rest;
  const int n = e / block, within = e % block;
  GRAD_WRITE(acc, dx[e], dz[(n * outC + offset) * rest + within]);
}
