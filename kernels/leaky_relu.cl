#include "common.h"

/* z = x where x > 0, else slope * x */
__kernel void leaky_relu_forward(const int n, __global const float *x, __global float *z, const float slope) {
  const int i = get_global_id(0);
  if (i < n) z[i] = x[i] > 0.0f ? x[i] : slope * x[i];
}

/* dx (+)= dz where x > 0, else slope * dz */
__kernel void leaky_relu_backward(const int n, __global const float *x, __global const float *dz,
                                  __global float *dx, const int acc, const float slope) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], x[i] > 0.0f ? dz[i] : slope * dz[i]);
}
