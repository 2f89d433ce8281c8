#include "common.h"

/* loss[0] = -(1/rows) sum_r logp[r, y_r], as one work-group (power-of-two size); scratch has one
 * float per work-item. Labels are class indices stored as floats, checked on upload. */
__kernel void nll_forward(const int rows, const int cols, __global const float *logp,
                          __global const float *y, __global float *loss, __local float *scratch) {
  float sum = 0.0f, carry = 0.0f;
  for (int r = get_local_id(0); r < rows; r += get_local_size(0)) {
    kahan_add(&sum, &carry, -logp[r * cols + (int)y[r]]);
  }
  const float total = group_sum(sum, scratch);
  if (get_local_id(0) == 0) loss[0] = total / rows;
}

/* dlogp (+)= -dL / rows at each row's label, 0 elsewhere; one work-item per row. */
__kernel void nll_backward(const int rows, const int cols, __global const float *y,
                           __global const float *dloss, __global float *dx, const int acc) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const float g = -dloss[0] / rows;
  const int label = (int)y[r];
  for (int j = 0; j < cols; j++) GRAD_WRITE(acc, dx[r * cols + j], j == label ? g : 0.0f);
}
