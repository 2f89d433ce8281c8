#include "common.h"

/* Inverted dropout with common.h's dropout_scale, a counter-based hash of (seed, step, i). */

/* z = x * mask / (1 - p) */
__kernel void dropout_forward(const int n, const float p, const int seed, const int step,
                              __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = x[i] * dropout_scale(p, seed, step, i);
}

/* dx (+)= dz * mask / (1 - p) */
__kernel void dropout_backward(const int n, const float p, const int seed, const int step,
                               __global const float *dz, __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], dz[i] * dropout_scale(p, seed, step, i));
}
