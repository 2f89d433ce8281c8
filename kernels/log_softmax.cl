#include "common.h"

/* Row-wise log-softmax of rows of cols scores (the last dimension), one work-item per row:
 * z = x - max - log(sum exp(x - max)). */
__kernel void log_softmax_forward(const int rows, const int cols, __global const float *x,
                                  __global float *z) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *xr = x + r * cols;
  const float m = row_max(xr, cols);
  const float l = log(row_exp_sum(xr, cols, m));
  for (int j = 0; j < cols; j++) z[r * cols + j] = xr[j] - m - l;
}

/* dx (+)= dz - exp(z) * sum_j dz_j, per row, from the output z */
__kernel void log_softmax_backward(const int rows, const int cols, __global const float *z,
                                   __global const float *dz, __global float *dx, const int acc) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const int off = r * cols;
  float sum = 0.0f, carry = 0.0f;
  for (int j = 0; j < cols; j++) kahan_add(&sum, &carry, dz[off + j]);
  for (int j = 0; j < cols; j++) GRAD_WRITE(acc, dx[off + j], dz[off + j] - exp(z[off + j]) * sum);
}
