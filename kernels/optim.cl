#include "common.h"

/* Plain SGD with L2 weight decay: p -= lr (g + wd p). */
__kernel void sgd_update(__global float *p, __global const float *g, const int n,
                         const float lr, const float wd) {
  const int i = get_global_id(0);
  if (i < n) p[i] -= lr * (g[i] + wd * p[i]);
}

/* SGD with momentum: v = mu v + g + wd p; p -= lr v. */
__kernel void sgd_momentum_update(__global float *p, __global const float *g, __global float *v,
                                  const int n, const float lr, const float wd, const float mu) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float vi = mu * v[i] + g[i] + wd * p[i];
  v[i] = vi;
  p[i] -= lr * vi;
}
