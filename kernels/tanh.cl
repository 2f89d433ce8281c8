#include "common.h"

/* z = tanh(x) */
__kernel void tanh_forward(const int n, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = activate(3, x[i]);
}

/* dx (+)= dz * (1 - z^2), from the output z */
__kernel void tanh_backward(const int n, __global const float *z, __global const float *dz,
                            __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], activation_grad(3, z[i], dz[i]));
}
