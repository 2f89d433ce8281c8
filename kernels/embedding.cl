#include "common.h"

/* z[n, d] = w[indices[n], d], for n < N and d < D */
__kernel void embedding_forward(const int N, const int D, __global const float *w,
                                __global const float *indices, __global float *z) {
  const int e = get_global_id(0);
  if (e < N * D) z[e] = w[(int) indices[e / D] * D + e % D];
}

/* dw[v, d] (+)= sum over the n with indices[n] == v of dz[n, d]: one work-item per element of w,
 * scanning the N indices in order, so repeated indices sum in the same order on every device and
 * no atomics are needed. */
__kernel void embedding_backward(const int V, const int N, const int D,
                                 __global const float *indices, __global const float *dz,
                                 __global float *dw, const int acc) {
  const int e = get_global_id(0);
  if (e >= V * D) return;
  const int v = e / D, d = e % D;
  float sum = 0.0f, carry = 0.0f;
  for (int n = 0; n < N; n++) {
    if ((int) indices[n] == v) kahan_add(&sum, &carry, dz[n * D + d]);
  }
  GRAD_WRITE(acc, dw[e], sum);
}
