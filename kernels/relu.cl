#include "common.h"

/* z = max(x, 0); NaN stays NaN */
__kernel void relu_forward(const int n, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = activate(1, x[i]);
}

/* dx (+)= dz where x > 0, else 0 */
__kernel void relu_backward(const int n, __global const float *x, __global const float *dz,
                            __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], x[i] > 0.0f ? dz[i] : 0.0f);
}
