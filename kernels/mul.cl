#include "common.h"

/* z = a * b, elementwise */
__kernel void mul_forward(const int n, __global const float *a, __global const float *b,
                          __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = a[i] * b[i];
}

/* dx (+)= dz * other: launched once per input that needs a gradient, with the
 * other input as 'other'. */
__kernel void mul_backward(const int n, __global const float *other, __global const float *dz,
                           __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], dz[i] * other[i]);
}
