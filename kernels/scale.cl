#include "common.h"

/* z = c * x */
__kernel void scale_forward(const int n, const float c, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = c * x[i];
}

/* dx (+)= c * dz */
__kernel void scale_backward(const int n, const float c, __global const float *dz, __global float *dx,
                             const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], c * dz[i]);
}
