#include "common.h"

#define GELU_K 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_C 0.044715f

/* z = 0.5 x (1 + tanh(k (x + c x^3))), PyTorch's approximate="tanh" */
__kernel void gelu_forward(const int n, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) {
    const float v = x[i];
    z[i] = 0.5f * v * (1.0f + tanh(GELU_K * (v + GELU_C * v * v * v)));
  }
}

/* dx (+)= dz (0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2)), t = tanh(k (x + c x^3)) */
__kernel void gelu_backward(const int n, __global const float *x, __global const float *dz,
                            __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) {
    const float v = x[i];
    const float t = tanh(GELU_K * (v + GELU_C * v * v * v));
    GRAD_WRITE(acc, dx[i], dz[i] * (0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * GELU_K * (1.0f + 3.0f * GELU_C * v * v)));
  }
}
