#include "common.h"

/* Direct 2-D convolution of NCHW images, as PyTorch's conv2d. Every kernel takes the geometry
 * N, C, H, W (input), K, P, Q (output), R, S (window), the stride, padding and dilation, and the
 * groups G; each group has C/G input channels and K/G filters. One work-item per element of the
 * tensor it writes; sums are compensated. */
#define GEOMETRY const int N, const int C, const int H, const int W, const int K, const int P, \
    const int Q, const int R, const int S, const int SH, const int SW, const int PH, const int PW, \
    const int DH, const int DW, const int G

inline float conv_at(GEOMETRY, __global const float *x, __global const float *w, const int n,
                     const int k, const int p, const int q) {
  const int cg = C / G, c0 = (k / (K / G)) * cg;
  float sum = 0.0f, carry = 0.0f;
  for (int c = 0; c < cg; c++) {
    for (int r = 0; r < R; r++) {
      const int ih = p * SH - PH + r * DH;
      if (ih < 0 || ih >= H) continue;
      for (int s = 0; s < S; s++) {
        const int iw = q * SW - PW + s * DW;
        if (iw < 0 || iw >= W) continue;
        kahan_add(&sum, &carry, x[((n * C + c0 + c) * H + ih) * W + iw] * w[((k * cg + c) * R + r) * S + s]);
      }
    }
  }
  return sum;
}

/* z[n, k, p, q] = sum over the window (no bias) */
__kernel void conv2d_forward(GEOMETRY, __global const float *x, __global const float *w,
                             __global float *z) {
  const int e = get_global_id(0);
  if (e >= N * K * P * Q) return;
  const int q = e % Q, p = (e / Q) % P, k = (e / (P * Q)) % K, n = e / (K * P * Q);
  z[e] = conv_at(N, C, H, W, K, P, Q, R, S, SH, SW, PH, PW, DH, DW, G, x, w, n, k, p, q);
}

/* z[n, k, p, q] = b[k] + sum over the window */
__kernel void conv2d_forward_bias(GEOMETRY, __global const float *x, __global const float *w,
                                  __global const float *b, __global float *z) {
  const int e = get_global_id(0);
  if (e >= N * K * P * Q) return;
  const int q = e % Q, p = (e / Q) % P, k = (e / (P * Q)) % K, n = e / (K * P * Q);
  z[e] = b[k] + conv_at(N, C, H, W, K, P, Q, R, S, SH, SW, PH, PW, DH, DW, G, x, w, n, k, p, q);
}

/* dx[n, c, h, w] (+)= sum over the outputs whose windows cover (h, w) of dz * w */
__kernel void conv2d_backward_input(GEOMETRY, __global const float *dz, __global const float *w,
                                    __global float *dx, const int acc) {
  const int e = get_global_id(0);
  if (e >= N * C * H * W) return;
  const int iw = e % W, ih = (e / W) % H, c = (e / (H * W)) % C, n = e / (C * H * W);
  const int cg = C / G, kg = K / G, g = c / cg, ci = c - g * cg;
  float sum = 0.0f, carry = 0.0f;
  for (int k = g * kg; k < (g + 1) * kg; k++) {
    for (int r = 0; r < R; r++) {
      const int ph = ih + PH - r * DH;
      if (ph < 0 || ph % SH != 0 || ph / SH >= P) continue;
      for (int s = 0; s < S; s++) {
        const int pw = iw + PW - s * DW;
        if (pw < 0 || pw % SW != 0 || pw / SW >= Q) continue;
        kahan_add(&sum, &carry, dz[((n * K + k) * P + ph / SH) * Q + pw / SW] * w[((k * cg + ci) * R + r) * S + s]);
      }
    }
  }
  GRAD_WRITE(acc, dx[e], sum);
}

/* dw[k, c, r, s] (+)= sum over n, p, q of dz * x */
__kernel void conv2d_backward_weight(GEOMETRY, __global const float *dz, __global const float *x,
                                     __global float *dw, const int acc) {
  const int cg = C / G;
  const int e = get_global_id(0);
  if (e >= K * cg * R * S) return;
  const int s = e % S, r = (e / S) % R, ci = (e / (R * S)) % cg, k = e / (cg * R * S);
  const int c = (k / (K / G)) * cg + ci;
  float sum = 0.0f, carry = 0.0f;
  for (int n = 0; n < N; n++) {
    for (int p = 0; p < P; p++) {
      const int ih = p * SH - PH + r * DH;
      if (ih < 0 || ih >= H) continue;
      for (int q = 0; q < Q; q++) {
        const int iw = q * SW - PW + s * DW;
        if (iw < 0 || iw >= W) continue;
        kahan_add(&sum, &carry, dz[((n * K + k) * P + p) * Q + q] * x[((n * C + c) * H + ih) * W + iw]);
      }
    }
  }
  GRAD_WRITE(acc, dw[e], sum);
}

/* db[k] (+)= sum over n, p, q of dz */
__kernel void conv2d_backward_bias(GEOMETRY, __global const float *dz, __global float *db,
                                   const int acc) {
  const int k = get_global_id(0);
  if (k >= K) return;
  float sum = 0.0f, carry = 0.0f;
  for (int n = 0; n < N; n++) {
    for (int i = 0; i < P * Q; i++) kahan_add(&sum, &carry, dz[(n * K + k) * P * Q + i]);
  }
  GRAD_WRITE(acc, db[k], sum);
}
