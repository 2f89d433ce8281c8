#include "common.h"

/* Normalisation of each row of cols values (the last axis of x), for layer norm (centred = 1:
 * xhat = (x - mean) * rstd, rstd = 1 / sqrt(mean((x - mean)^2) + eps)) and RMS norm (centred = 0:
 * xhat = x * rstd, rstd = 1 / sqrt(mean(x^2) + eps)). Row kernels run one work-group per row
 * (get_group_id(0) = r), with compensated per-item sums. The workspace w holds row r's mean (0
 * when not centred) at 2r and its rstd at 2r + 1. */

/* z = xhat (* gamma, + beta where given) of row r, its mean and rstd saved in w */
inline void norm_forward(const int cols, const int centred, const float eps, __global const float *x,
                         __global const float *gamma, __global const float *beta, __global float *w,
                         __global float *z, __local float *scratch) {
  const int r = get_group_id(0), off = r * cols;
  float sum = 0.0f, carry = 0.0f, mean = 0.0f;
  if (centred) { /* the same for the whole group, so every work-item reaches the barriers */
    for (int j = get_local_id(0); j < cols; j += get_local_size(0)) kahan_add(&sum, &carry, x[off + j]);
    mean = group_sum(sum, scratch) / cols;
  }
  sum = 0.0f;
  carry = 0.0f;
  for (int j = get_local_id(0); j < cols; j += get_local_size(0)) {
    const float d = x[off + j] - mean;
    kahan_add(&sum, &carry, d * d);
  }
  const float rstd = 1.0f / sqrt(group_sum(sum, scratch) / cols + eps);
  if (get_local_id(0) == 0) {
    w[2 * r] = mean;
    w[2 * r + 1] = rstd;
  }
  for (int j = get_local_id(0); j < cols; j += get_local_size(0)) {
    float v = (x[off + j] - mean) * rstd;
    if (gamma) v *= gamma[j];
    if (beta) v += beta[j];
    z[off + j] = v;
  }
}

__kernel void layer_norm_forward(const int cols, const int centred, const float eps, __global const float *x,
                                 __global float *w, __global float *z, __local float *scratch) {
  norm_forward(cols, centred, eps, x, 0, 0, w, z, scratch);
}

__kernel void layer_norm_forward_scaled(const int cols, const int centred, const float eps,
                                        __global const float *x, __global const float *gamma,
                                        __global float *w, __global float *z, __local float *scratch) {
  norm_forward(cols, centred, eps, x, gamma, 0, w, z, scratch);
}

__kernel void layer_norm_forward_affine(const int cols, const int centred, const float eps,
                                        __global const float *x, __global const float *gamma,
                                        __global const float *beta, __global float *w, __global float *z,
                                        __local float *scratch) {
  norm_forward(cols, centred, eps, x, gamma, beta, w, z, scratch);
}

/* dx (+)= rstd * (g - mean(g) - xhat * mean(g * xhat)) over row r, g = dz * gamma (dz without a
 * gamma); no mean(g) term when not centred */
inline void norm_backward_input(const int cols, const int centred, __global const float *x,
                                __global const float *dz, __global const float *gamma,
                                __global const float *w, __global float *dx, const int acc,
                                __local float *scratch) {
  const int r = get_group_id(0), off = r * cols;
  const float mean = w[2 * r], rstd = w[2 * r + 1];
  float sg = 0.0f, cg = 0.0f, sgx = 0.0f, cgx = 0.0f;
  for (int j = get_local_id(0); j < cols; j += get_local_size(0)) {
    const float g = gamma ? dz[off + j] * gamma[j] : dz[off + j];
    kahan_add(&sg, &cg, g);
    kahan_add(&sgx, &cgx, g * ((x[off + j] - mean) * rstd));
  }
  const float mg = centred ? group_sum(sg, scratch) / cols : 0.0f;
  const float mgx = group_sum(sgx, scratch) / cols;
  for (int j = get_local_id(0); j < cols; j += get_local_size(0)) {
    const float g = gamma ? dz[off + j] * gamma[j] : dz[off + j];
    GRAD_WRITE(acc, dx[off + j], rstd * (g - mg - (x[off + j] - mean) * rstd * mgx));
  }
}

__kernel void layer_norm_backward_input(const int cols, const int centred, __global const float *x,
                                        __global const float *dz, __global const float *w,
                                        __global float *dx, const int acc, __local float *scratch) {
  norm_backward_input(cols, centred, x, dz, 0, w, dx, acc, scratch);
}

__kernel void layer_norm_backward_input_scaled(const int cols, const int centred, __global const float *x,
                                               __global const float *dz, __global const float *gamma,
                                               __global const float *w, __global float *dx, const int acc,
                                               __local float *scratch) {
  norm_backward_input(cols, centred, x, dz, gamma, w, dx, acc, scratch);
}

/* dgamma[j] (+)= sum over rows r of dz * xhat, compensated, for the work-item's column j */
__kernel void layer_norm_gamma_grad(const int rows, const int cols, __global const float *x,
                                    __global const float *dz, __global const float *w,
                                    __global float *dgamma, const int acc) {
  const int j = get_global_id(0);
  if (j >= cols) return;
  float sum = 0.0f, carry = 0.0f;
  for (int r = 0, at = j; r < rows; r++, at += cols) {
    kahan_add(&sum, &carry, dz[at] * ((x[at] - w[2 * r]) * w[2 * r + 1]));
  }
  GRAD_WRITE(acc, dgamma[j], sum);
}

/* dbeta[j] (+)= sum over rows of dz */
__kernel void layer_norm_beta_grad(const int rows, const int cols, __global const float *dz,
                                   __global float *dbeta, const int acc) {
  column_sum_write(rows, cols, dz, dbeta, acc);
}
