#include "common.h"

/* Batch normalisation over the channels c of x [N, C, S...], S = the product of the trailing
 * dimensions (1 for [N, C]); M = N * S values per channel. The workspace w holds four rows of C:
 * mean, inverse standard deviation, sum of dz and sum of dz * xhat. Reductions run one
 * work-group per channel (get_group_id(0) = c), with compensated per-item sums. With an
 * activation act (common.h's codes; 0 for none), forward writes activate(act, .) and backward
 * takes activation_grad(act, z, dz) from the output z in place of dz. */

inline int bn_index(const int i, const int C, const int S, const int c) {
  return (i / S) * C * S + c * S + i % S; /* the i-th of the M values of channel c */
}

/* Batch statistics into w, and the running statistics updated as PyTorch does:
 * r = (1 - momentum) r + momentum * stat, with the unbiased variance (M / (M - 1)). */
__kernel void batch_norm_stats(const int N, const int C, const int S, const float eps,
                               const float momentum, __global const float *x, __global float *w,
                               __global float *rmean, __global float *rvar,
                               __local float *scratch) {
  const int c = get_group_id(0), M = N * S;
  float sum = 0.0f, carry = 0.0f;
  for (int i = get_local_id(0); i < M; i += get_local_size(0)) kahan_add(&sum, &carry, x[bn_index(i, C, S, c)]);
  const float mean = group_sum(sum, scratch) / M;
  sum = 0.0f;
  carry = 0.0f;
  for (int i = get_local_id(0); i < M; i += get_local_size(0)) {
    const float d = x[bn_index(i, C, S, c)] - mean;
    kahan_add(&sum, &carry, d * d);
  }
  const float var = group_sum(sum, scratch) / M;
  if (get_local_id(0) == 0) {
    w[c] = mean;
    w[C + c] = 1.0f / sqrt(var + eps);
    rmean[c] = (1.0f - momentum) * rmean[c] + momentum * mean;
    rvar[c] = (1.0f - momentum) * rvar[c] + momentum * (M > 1 ? var * M / (M - 1) : var);
  }
}

/* z = activate(act, (x - mean) * invstd * gamma + beta), with the batch statistics of w */
__kernel void batch_norm_forward(const int N, const int C, const int S, const int act,
                                 __global const float *x, __global const float *w,
                                 __global const float *gamma, __global const float *beta,
                                 __global float *z) {
  const int e = get_global_id(0);
  if (e >= N * C * S) return;
  const int c = (e / S) % C;
  z[e] = activate(act, (x[e] - w[c]) * w[C + c] * gamma[c] + beta[c]);
}

/* z = activate(act, (x - running mean) / sqrt(running var + eps) * gamma + beta) (evaluation mode) */
__kernel void batch_norm_forward_eval(const int N, const int C, const int S, const int act,
                                      const float eps, __global const float *x,
                                      __global const float *rmean, __global const float *rvar,
                                      __global const float *gamma, __global const float *beta,
                                      __global float *z) {
  const int e = get_global_id(0);
  if (e >= N * C * S) return;
  const int c = (e / S) % C;
  z[e] = activate(act, (x[e] - rmean[c]) / sqrt(rvar[c] + eps) * gamma[c] + beta[c]);
}

/* the gradient at z's element at: dz, or dz * f' from the output with an activation */
inline float bn_grad(const int act, __global const float *z, __global const float *dz, const int at) {
  return act != 0 ? activation_grad(act, z[at], dz[at]) : dz[at];
}

/* w's last two rows: sum of g and sum of g * xhat over channel c, g = bn_grad(act, z, dz, .) */
__kernel void batch_norm_backward_sums(const int N, const int C, const int S, const int act,
                                       __global const float *x, __global const float *z,
                                       __global const float *dz, __global float *w,
                                       __local float *scratch) {
  const int c = get_group_id(0), M = N * S;
  const float mean = w[c], invstd = w[C + c];
  float sdz = 0.0f, cdz = 0.0f, sdx = 0.0f, cdx = 0.0f;
  for (int i = get_local_id(0); i < M; i += get_local_size(0)) {
    const int at = bn_index(i, C, S, c);
    const float g = bn_grad(act, z, dz, at);
    kahan_add(&sdz, &cdz, g);
    kahan_add(&sdx, &cdx, g * (x[at] - mean) * invstd);
  }
  const float total = group_sum(sdz, scratch);
  const float totalX = group_sum(sdx, scratch);
  if (get_local_id(0) == 0) {
    w[2 * C + c] = total;
    w[3 * C + c] = totalX;
  }
}

/* dparam[c] (+)= w[row * C + c]: row 3 gives gamma's gradient, row 2 beta's */
__kernel void batch_norm_backward_param(const int C, const int row, __global const float *w,
                                        __global float *dparam, const int acc) {
  const int c = get_global_id(0);
  if (c < C) GRAD_WRITE(acc, dparam[c], w[row * C + c]);
}

/* dx (+)= gamma * invstd / M * (M g - sum g - xhat * sum g xhat), g = bn_grad(act, z, dz, .) */
__kernel void batch_norm_backward_input(const int N, const int C, const int S, const int act,
                                        __global const float *x, __global const float *z,
                                        __global const float *dz, __global const float *w,
                                        __global const float *gamma, __global float *dx,
                                        const int acc) {
  const int e = get_global_id(0);
  if (e >= N * C * S) return;
  const int c = (e / S) % C, M = N * S;
  const float invstd = w[C + c], xhat = (x[e] - w[c]) * invstd;
  GRAD_WRITE(acc, dx[e],
             gamma[c] * invstd / M * (M * bn_grad(act, z, dz, e) - w[2 * C + c] - xhat * w[3 * C + c]));
}
