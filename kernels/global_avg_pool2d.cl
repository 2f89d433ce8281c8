#include "common.h"

/* z[p] = mean of plane p of x, for the planes * hw values of x [N, C, H, W] */
__kernel void global_avg_pool2d_forward(const int planes, const int hw, __global const float *x,
                                        __global float *z) {
  const int p = get_global_id(0);
  if (p >= planes) return;
  float sum = 0.0f, carry = 0.0f;
  for (int i = 0; i < hw; i++) kahan_add(&sum, &carry, x[p * hw + i]);
  z[p] = sum / hw;
}

/* dx (+)= dz[plane] / hw */
__kernel void global_avg_pool2d_backward(const int planes, const int hw, __global const float *dz,
                                         __global float *dx, const int acc) {
  const int e = get_global_id(0);
  if (e < planes * hw) GRAD_WRITE(acc, dx[e], dz[e / hw] / hw);
}
