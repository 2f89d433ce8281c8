#include "common.h"

/* Optimizer updates over the flat blocks of every parameter at once (the padding between
 * parameters is zero and stays zero). Every kernel takes the parameters p, the gradients g, its
 * state blocks, norm_sq (the squared global gradient norm, read only when clipping), the element
 * count n, then the learning rate lr, the weight decay wd and the clipping norm max_norm
 * (0: no clipping), then its own scalars. PyTorch's definitions throughout. */

/* The factor that clips the global gradient norm to max_norm, as torch.nn.utils.clip_grad_norm_:
 * min(1, max_norm / (norm + 1e-6)). */
inline float clip_scale(const float max_norm, __global const float *norm_sq) {
  if (max_norm <= 0.0f) return 1.0f;
  return fmin(1.0f, max_norm / (sqrt(norm_sq[0]) + 1e-6f));
}

/* norm_sq[0] = sum of g^2 over the block, as one work-group (power-of-two size). */
__kernel void grad_norm_sq(const int n, __global const float *g, __global float *norm_sq,
                           __local float *scratch) {
  float sum = 0.0f, carry = 0.0f;
  for (int i = get_local_id(0); i < n; i += get_local_size(0)) kahan_add(&sum, &carry, g[i] * g[i]);
  const float total = group_sum(sum, scratch);
  if (get_local_id(0) == 0) norm_sq[0] = total;
}

/* SGD: p -= lr (g + wd p). */
__kernel void sgd_update(__global float *p, __global const float *g, __global const float *norm_sq,
                         const int n, const float lr, const float wd, const float max_norm) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const float d = g[i] * clip_scale(max_norm, norm_sq) + wd * p[i];
  p[i] -= lr * d;
}

/* SGD with momentum mu: d = g + wd p; v = mu v + d; with Nesterov d += mu v, else d = v;
 * p -= lr d. */
__kernel void sgd_momentum_update(__global float *p, __global const float *g, __global float *v,
                                  __global const float *norm_sq, const int n, const float lr,
                                  const float wd, const float max_norm, const float mu,
                                  const float nesterov) {
  const int i = get_global_id(0);
  if (i >= n) return;
  float d = g[i] * clip_scale(max_norm, norm_sq) + wd * p[i];
  const float vi = mu * v[i] + d;
  v[i] = vi;
  d = nesterov != 0.0f ? d + mu * vi : vi;
  p[i] -= lr * d;
}

/* Adam (decoupled == 0: L2, g += wd p) and AdamW (decoupled == 1: p *= 1 - lr wd):
 * m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2;
 * p -= step_size m / (sqrt(v) / bc2_sqrt + eps), with step_size = lr / (1 - b1^t) and
 * bc2_sqrt = sqrt(1 - b2^t) computed on the host for step t. */
__kernel void adam_update(__global float *p, __global const float *g, __global float *m,
                          __global float *v, __global const float *norm_sq, const int n,
                          const float lr, const float wd, const float max_norm, const float b1,
                          const float b2, const float eps, const float step_size,
                          const float bc2_sqrt, const float decoupled) {
  const int i = get_global_id(0);
  if (i >= n) return;
  float gi = g[i] * clip_scale(max_norm, norm_sq);
  float pi = p[i];
  if (decoupled != 0.0f) pi *= 1.0f - lr * wd;
  else gi += wd * pi;
  const float mi = b1 * m[i] + (1.0f - b1) * gi;
  const float vi = b2 * v[i] + (1.0f - b2) * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = pi - step_size * (mi / (sqrt(vi) / bc2_sqrt + eps));
}
