#include "common.h"

/* Max (MAX == 1) or average pooling of PLANES = N*C planes of H x W over K x K windows with
 * stride ST and zero padding PD (never picked by max, counted by average), as PyTorch's
 * max_pool2d and avg_pool2d. The output planes are P x Q. */
#define POOL const int PLANES, const int H, const int W, const int P, const int Q, const int K, \
    const int ST, const int PD, const int MAX

/* The window's maximum (NaN if it holds one, as in PyTorch; and its index in the plane) or mean, at
 * output (p, q). */
inline float pool_window(POOL, __global const float *x, const int p, const int q, int *at) {
  float best = -INFINITY, sum = 0.0f, carry = 0.0f;
  for (int r = 0; r < K; r++) {
    const int ih = p * ST - PD + r;
    if (ih < 0 || ih >= H) continue;
    for (int s = 0; s < K; s++) {
      const int iw = q * ST - PD + s;
      if (iw < 0 || iw >= W) continue;
      const float v = x[ih * W + iw];
      kahan_add(&sum, &carry, v);
      if (v > best || isnan(v)) { /* a NaN is the maximum, the last one credited, as PyTorch */
        best = v;
        *at = ih * W + iw;
      }
    }
  }
  return MAX ? best : sum / (K * K);
}

__kernel void pool2d_forward(POOL, __global const float *x, __global float *z) {
  const int e = get_global_id(0);
  if (e >= PLANES * P * Q) return;
  const int q = e % Q, p = (e / Q) % P, plane = e / (P * Q);
  int at = 0;
  z[e] = pool_window(PLANES, H, W, P, Q, K, ST, PD, MAX, x + plane * H * W, p, q, &at);
}

/* dx[h, w] (+)= the gradients of the windows that cover (h, w): all of each (average, / K^2),
 * or those whose maximum it is (max). */
__kernel void pool2d_backward(POOL, __global const float *x, __global const float *dz,
                              __global float *dx, const int acc) {
  const int e = get_global_id(0);
  if (e >= PLANES * H * W) return;
  const int iw = e % W, ih = (e / W) % H, plane = e / (H * W);
  __global const float *xp = x + plane * H * W;
  float sum = 0.0f, carry = 0.0f;
  for (int r = 0; r < K; r++) {
    const int ph = ih + PD - r;
    if (ph < 0 || ph % ST != 0 || ph / ST >= P) continue;
    for (int s = 0; s < K; s++) {
      const int pw = iw + PD - s;
      if (pw < 0 || pw % ST != 0 || pw / ST >= Q) continue;
      const float d = dz[(plane * P + ph / ST) * Q + pw / ST];
      if (MAX) {
        int at = -1;
        pool_window(PLANES, H, W, P, Q, K, ST, PD, MAX, xp, ph / ST, pw / ST, &at);
        if (at == ih * W + iw) kahan_add(&sum, &carry, d);
      } else {
        kahan_add(&sum, &carry, d / (K * K));
      }
    }
  }
  GRAD_WRITE(acc, dx[e], sum);
}
