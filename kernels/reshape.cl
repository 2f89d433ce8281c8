#include "common.h"

/* z = x, element for element (the shapes differ, the row-major order does not) */
__kernel void reshape_forward(const int n, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = x[i];
}

/* dx (+)= dz */
__kernel void reshape_backward(const int n, __global const float *dz, __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], dz[i]);
}
