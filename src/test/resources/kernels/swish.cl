#include "common.h"

/* z = x * sigmoid(beta x) */
__kernel void swish_forward(const int n, __global const float *x, __global float *z, const float beta) {
  const int i = get_global_id(0);
  if (i < n) z[i] = x[i] / (1.0f + exp(-beta * x[i]));
}

/* dx (+)= dz * s * (1 + beta x (1 - s)), s = sigmoid(beta x) */
__kernel void swish_backward(const int n, __global const float *x, __global const float *dz,
                             __global float *dx, const int acc, const float beta) {
  const int i = get_global_id(0);
  if (i < n) {
    const float s = 1.0f / (1.0f + exp(-beta * x[i]));
    GRAD_WRITE(acc, dx[i], dz[i] * s * (1.0f + beta * x[i] * (1.0f - s)));
  }
}
