#include "common.h"

/* loss[0] = (1/rows) sum_r [logsumexp(x_r) - x_r[y_r]], through log-sum-exp.
 * Launched as one work-group (power-of-two size); scratch has one float per
 * work-item. Labels are class indices stored as floats, checked on upload. */
__kernel void softmax_cross_entropy_forward(const int rows, const int cols,
                                            __global const float *x, __global const float *y,
                                            __global float *loss, __local float *scratch) {
  float sum = 0.0f, carry = 0.0f;
  for (int r = get_local_id(0); r < rows; r += get_local_size(0)) {
    __global const float *xr = x + r * cols;
    const float m = row_max(xr, cols);
    kahan_add(&sum, &carry, m + log(row_exp_sum(xr, cols, m)) - xr[(int)y[r]]);
  }
  const float total = group_sum(sum, scratch);
  if (get_local_id(0) == 0) loss[0] = total / rows;
}

/* dx_r (+)= dL * (softmax(x_r) - onehot(y_r)) / rows, one work-item per row;
 * dL is the incoming gradient of the scalar loss. */
__kernel void softmax_cross_entropy_backward(const int rows, const int cols,
                                             __global const float *x, __global const float *y,
                                             __global const float *dloss, __global float *dx,
                                             const int acc) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  __global const float *xr = x + r * cols;
  const float m = row_max(xr, cols);
  const float inv = 1.0f / row_exp_sum(xr, cols, m);
  const float k = dloss[0] / rows;
  const int label = (int)y[r];
  for (int j = 0; j < cols; j++) {
    const float p = exp(xr[j] - m) * inv;
    GRAD_WRITE(acc, dx[r * cols + j], k * (j == label ? p - 1.0f : p));
  }
}
