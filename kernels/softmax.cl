#include "common.h"

/* Of row r's cols positions, how many lead unmasked: all when tq == 0, else those of a causal mask
 * over [.., tq, cols] (position j of query row i = r % tq is masked when j > i + cols - tq). */
inline int softmax_unmasked(const int r, const int cols, const int tq) {
  return tq == 0 ? cols : causal_visible(r % tq, tq, cols);
}

/* Row-wise softmax of rows of cols scores, one work-item per row; masked positions get 0. */
__kernel void softmax_forward(const int rows, const int cols, const int tq, __global const float *x,
                              __global float *z) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const int len = softmax_unmasked(r, cols, tq);
  __global const float *xr = x + r * cols;
  __global float *zr = z + r * cols;
  const float m = row_max(xr, len);
  const float inv = 1.0f / row_exp_sum(xr, len, m);
  for (int j = 0; j < len; j++) zr[j] = exp(xr[j] - m) * inv;
  for (int j = len; j < cols; j++) zr[j] = 0.0f;
}

/* dx (+)= z * (dz - sum_j dz_j z_j), per row; 0 at masked positions */
__kernel void softmax_backward(const int rows, const int cols, const int tq, __global const float *z,
                               __global const float *dz, __global float *dx, const int acc) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  const int off = r * cols, len = softmax_unmasked(r, cols, tq);
  float dot = 0.0f, carry = 0.0f;
  for (int j = 0; j < len; j++) kahan_add(&dot, &carry, dz[off + j] * z[off + j]);
  for (int j = 0; j < len; j++) GRAD_WRITE(acc, dx[off + j], z[off + j] * (dz[off + j] - dot));
  for (int j = len; j < cols; j++) GRAD_WRITE(acc, dx[off + j], 0.0f);
}
