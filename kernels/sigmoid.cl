#include "common.h"

/* z = 1 / (1 + e^-x) */
__kernel void sigmoid_forward(const int n, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = activate(2, x[i]);
}

/* dx (+)= dz * z * (1 - z), from the output z */
__kernel void sigmoid_backward(const int n, __global const float *z, __global const float *dz,
                               __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], activation_grad(2, z[i], dz[i]));
}
