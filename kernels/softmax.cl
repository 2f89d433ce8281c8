#include "common.h"

/* Row-wise softmax of a rows×cols matrix, one work-item per row. */
__kernel void softmax_forward(const int rows, const int cols, __global const float *x,
                              __global float *z) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *xr = x + r * cols;
  __global float *zr = z + r * cols;
  const float m = row_max(xr, cols);
  const float inv = 1.0f / row_exp_sum(xr, cols, m);
  for (int j = 0; j < cols; j++) zr[j] = exp(xr[j] - m) * inv;
}

/* dx (+)= z * (dz - sum_j dz_j z_j), per row */
__kernel void softmax_backward(const int rows, const int cols, __global const float *z,
                               __global const float *dz, __global float *dx, const int acc) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const int off = r * cols;
  float dot = 0.0f, carry = 0.0f;
  for (int j = 0; j < cols; j++) kahan_add(&dot, &carry, dz[off + j] * z[off + j]);
  for (int j = 0; j < cols; j++) GRAD_WRITE(acc, dx[off + j], z[off + j] * (dz[off + j] - dot));
}
