#include "common.h"

/* Direct 2-D convolution of NCHW images, as PyTorch's conv2d. Every kernel takes the geometry
 * N, C, H, W (input), K, P, Q (output), R, S (window), the stride, padding and dilation, and the
 * groups G; each group has C/G input channels and K/G filters. One work-item per element of the
 * tensor it writes; sums are compensated. */
#define GEOMETRY const int N, const int C, const int H, const int W, const int K, const int P, \
    const int Q, const int R, const int S, const int SH, const int SW, const int PH, const int PW, \
    const int DH, const int DW, const int G

/* The output position along one axis whose window tap t covers input position i, or -1 when
 * none does (the tap falls between strides, or past the output). */
inline int covering_output(const int i, const int pad, const int t, const int dilation, const int stride,
                           const int out) {
  const int o = i + pad - t * dilation;
  return (o < 0 || o % stride != 0 || o / stride >= out) ? -1 : o / stride;
}

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

/* z[n, k, p, q] = activate(act, sum over the window) (no bias) */
__kernel void conv2d_forward(GEOMETRY, __global const float *x, __global const float *w,
                             __global float *z, const int act) {
  const int e = get_global_id(0);
  if (e >= N * K * P * Q) return;
  const int q = e % Q, p = (e / Q) % P, k = (e / (P * Q)) % K, n = e / (K * P * Q);
  z[e] = activate(act, conv_at(N, C, H, W, K, P, Q, R, S, SH, SW, PH, PW, DH, DW, G, x, w, n, k, p, q));
}

/* z[n, k, p, q] = activate(act, b[k] + sum over the window) */
__kernel void conv2d_forward_bias(GEOMETRY, __global const float *x, __global const float *w,
                                  __global const float *b, __global float *z, const int act) {
  const int e = get_global_id(0);
  if (e >= N * K * P * Q) return;
  const int q = e % Q, p = (e / Q) % P, k = (e / (P * Q)) % K, n = e / (K * P * Q);
  z[e] = activate(act, b[k] + conv_at(N, C, H, W, K, P, Q, R, S, SH, SW, PH, PW, DH, DW, G, x, w, n, k, p, q));
}

/* dy = activation_grad(act, z, dz) over n outputs: what the backward kernels read in place of dz
 * when the convolution applies an activation. */
__kernel void conv2d_activation_grad(const int n, const int act, __global const float *z,
                                     __global const float *dz, __global float *dy) {
  const int i = get_global_id(0);
  if (i < n) dy[i] = activation_grad(act, z[i], dz[i]);
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
      const int p = covering_output(ih, PH, r, DH, SH, P);
      if (p < 0) continue;
      for (int s = 0; s < S; s++) {
        const int q = covering_output(iw, PW, s, DW, SW, Q);
        if (q < 0) continue;
        kahan_add(&sum, &carry, dz[((n * K + k) * P + p) * Q + q] * w[((k * cg + ci) * R + r) * S + s]);
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

/* ---- im2col form: the products run on gemm.cl ----------------------------------------------
 * A chunk of NC images from image N0, one group g at a time. The patch matrix col has a row per
 * tap (c, r, s) of the group's C/G channels and a column per output position of each image:
 * col[(c*R + r)*S + s][j*P*Q + p*Q + q] for image N0 + j. */

/* col from x: 2-D launch, dimension 0 over the NC*P*Q columns, dimension 1 over the taps */
__kernel void conv2d_im2col(GEOMETRY, const int N0, const int NC, const int g,
                            __global const float *x, __global float *col) {
  const int PQ = P * Q, cols = NC * PQ, cg = C / G;
  const int i = get_global_id(0), row = get_global_id(1);
  if (i >= cols || row >= cg * R * S) return;
  const int j = i / PQ, q = i % Q, p = (i % PQ) / Q;
  const int s = row % S, r = (row / S) % R, c = row / (R * S);
  const int ih = p * SH - PH + r * DH, iw = q * SW - PW + s * DW;
  col[row * cols + i] = (ih >= 0 && ih < H && iw >= 0 && iw < W)
      ? x[(((N0 + j) * C + g * cg + c) * H + ih) * W + iw] : 0.0f;
}

/* dx (+)= the patch gradients dcol gathered back onto the group's channels of the chunk's
 * images: one work-item per element of dx written */
__kernel void conv2d_col2im(GEOMETRY, const int N0, const int NC, const int g,
                            __global const float *dcol, __global float *dx, const int acc) {
  const int cg = C / G, PQ = P * Q, cols = NC * PQ;
  const int e = get_global_id(0);
  if (e >= NC * cg * H * W) return;
  const int iw = e % W, ih = (e / W) % H, c = (e / (H * W)) % cg, j = e / (cg * H * W);
  float sum = 0.0f, carry = 0.0f;
  for (int r = 0; r < R; r++) {
    const int p = covering_output(ih, PH, r, DH, SH, P);
    if (p < 0) continue;
    for (int s = 0; s < S; s++) {
      const int q = covering_output(iw, PW, s, DW, SW, Q);
      if (q < 0) continue;
      kahan_add(&sum, &carry, dcol[((c * R + r) * S + s) * cols + j * PQ + p * Q + q]);
    }
  }
  GRAD_WRITE(acc, dx[(((N0 + j) * C + g * cg + c) * H + ih) * W + iw], sum);
}

/* db[k] (+)= sum over n, p, q of dz: one work-group per filter k */
__kernel void conv2d_bias_grad(const int N, const int K, const int PQ, __global const float *dz,
                               __global float *db, const int acc, __local float *scratch) {
  const int k = get_group_id(0);
  float sum = 0.0f, carry = 0.0f;
  for (int i = get_local_id(0); i < N * PQ; i += get_local_size(0)) {
    kahan_add(&sum, &carry, dz[((i / PQ) * K + k) * PQ + i % PQ]);
  }
  const float total = group_sum(sum, scratch);
  if (get_local_id(0) == 0) GRAD_WRITE(acc, db[k], total);
}

/* dw[off + i] (+)= the sum of the SPLITS partial weight gradients part[t*SIZE + i] */
__kernel void conv2d_sum_partials(const int SPLITS, const int SIZE, __global const float *part,
                                  __global float *dw, const int off, const int acc) {
  const int i = get_global_id(0);
  if (i >= SIZE) return;
  float sum = 0.0f, carry = 0.0f;
  for (int t = 0; t < SPLITS; t++) kahan_add(&sum, &carry, part[t * SIZE + i]);
  GRAD_WRITE(acc, dw[off + i], sum);
}
