#include "common.h"

/* loss[0] = (1/m) sum_i (p_i - t_i)^2, as one work-group (power-of-two size). */
__kernel void mse_forward(const int m, __global const float *p, __global const float *t,
                          __global float *loss, __local float *scratch) {
  float sum = 0.0f, carry = 0.0f;
  for (int i = get_local_id(0); i < m; i += get_local_size(0)) {
    const float d = p[i] - t[i];
    kahan_add(&sum, &carry, d * d);
  }
  const float total = group_sum(sum, scratch);
  if (get_local_id(0) == 0) loss[0] = total / m;
}

/* dx (+)= sign * 2 dL (p - t) / m: sign +1 for the prediction, -1 for the target. */
__kernel void mse_backward(const int m, const float sign, __global const float *p,
                           __global const float *t, __global const float *dloss,
                           __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < m) GRAD_WRITE(acc, dx[i], sign * 2.0f * dloss[0] * (p[i] - t[i]) / m);
}
