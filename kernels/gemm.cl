#include "common.h"

/* A batch of products, tiled in local memory, each work-item computing a
 * WPT_M × WPT_N block of its C:
 *
 *   C_z = alpha * sum over b in [z*SUM, min(BATCH, (z+1)*SUM)) of A_b·B_b + beta * C_z
 *
 * With SUM == 1 that is BATCH independent products; with SUM == BATCH, one
 * product whose inner dimension runs over the whole batch (a weight gradient
 * summed over images).
 *
 * Element (i, p) of A_b is A[offA + b*bA + i*sAm + p*sAk] and element (p, j)
 * of B_b is B[offB + b*bB + p*sBk + j*sBn], so the host expresses a
 * transposed operand, a leading dimension or a sub-matrix by its offset and
 * strides. C_z is row-major: element (i, j) is C[offC + z*bC + i*ldc + j].
 * With beta == 0, C is written without being read.
 *
 * Epilogue, on each element once its sum is complete: bias_mode 1 adds
 * bias[offBias + i] (per row), 2 adds bias[offBias + j] (per column), 0 none;
 * then activate(act, .) from common.h. Without a bias the host passes C as
 * the bias buffer, unread.
 *
 * VEC (1, 2 or 4): elements each work-item reads in one vector load, along
 * whichever dimension of the operand is contiguous (runs that cross the edge of
 * the operand are read element by element). DB (0 or 1): double-buffered
 * local tiles, so that the next tiles load while these are multiplied, with
 * one barrier per step of K instead of two.
 *
 * Launch: local size (TILE_N / WPT_N, TILE_M / WPT_M, 1), global size
 * (ceil(N / TILE_N) * TILE_N / WPT_N, ceil(M / TILE_M) * TILE_M / WPT_M,
 * ceil(BATCH / SUM)). Any M, N, K >= 1: partial tiles are padded with zeros. */

#ifndef TILE_M
#define TILE_M 64
#endif
#ifndef TILE_N
#define TILE_N 64
#endif
#ifndef TILE_K
#define TILE_K 16
#endif
#ifndef WPT_M
#define WPT_M 4
#endif
#ifndef WPT_N
#define WPT_N 4
#endif
#ifndef VEC
#define VEC 1
#endif
#ifndef DB
#define DB 0
#endif

#define THREADS_M (TILE_M / WPT_M)
#define THREADS_N (TILE_N / WPT_N)
#define GROUP (THREADS_M * THREADS_N)

/* v[t] = X[base + t*step] for t < VEC, 0 where !valid or t >= left: one vector
 * load when the run is contiguous and whole. */
inline void load_run(__global const float *X, const int base, const int step, const int valid, const int left,
                     float *v) {
#if VEC > 1
  if (valid && left >= VEC && step == 1) {
#if VEC == 4
    const float4 x = vload4(0, X + base);
    v[0] = x.s0; v[1] = x.s1; v[2] = x.s2; v[3] = x.s3;
#else
    const float2 x = vload2(0, X + base);
    v[0] = x.s0; v[1] = x.s1;
#endif
    return;
  }
#endif
  for (int t = 0; t < VEC; t++) v[t] = (valid && t < left) ? X[base + t * step] : 0.0f;
}

/* tile[kk][i] (rows of width + 1 floats) = X[o + (r0 + i)*s_r + (k0 + kk)*s_k]
 * for kk < TILE_K, i < width, 0 past R rows or K. Consecutive work-items read
 * consecutive addresses, VEC at a time: along k when s_k == 1, else along the
 * rows. */
inline void load_tile(__local float *tile, const int width, __global const float *X, const int o, const int s_r,
                      const int s_k, const int r0, const int R, const int k0, const int K, const int tid) {
  float v[VEC];
  if (s_k == 1) {
    for (int l = tid; l < (TILE_K / VEC) * width; l += GROUP) {
      const int kk = (l % (TILE_K / VEC)) * VEC, i = l / (TILE_K / VEC);
      load_run(X, o + (r0 + i) * s_r + k0 + kk, 1, r0 + i < R, K - k0 - kk, v);
      for (int t = 0; t < VEC; t++) tile[(kk + t) * (width + 1) + i] = v[t];
    }
  } else {
    for (int l = tid; l < TILE_K * (width / VEC); l += GROUP) {
      const int i = (l % (width / VEC)) * VEC, kk = l / (width / VEC);
      load_run(X, o + (r0 + i) * s_r + (k0 + kk) * s_k, s_r, k0 + kk < K, R - r0 - i, v);
      for (int t = 0; t < VEC; t++) tile[kk * (width + 1) + i + t] = v[t];
    }
  }
}

__kernel __attribute__((reqd_work_group_size(THREADS_N, THREADS_M, 1)))
void gemm(const int M, const int N, const int K, const int BATCH, const int SUM,
          const float alpha,
          __global const float *A, const int offA, const int sAm, const int sAk, const int bA,
          __global const float *B, const int offB, const int sBk, const int sBn, const int bB,
          const float beta, __global float *C, const int offC, const int ldc, const int bC,
          __global const float *bias, const int offBias, const int bias_mode, const int act) {
  const int tn = get_local_id(0);
  const int tm = get_local_id(1);
  const int tid = tm * THREADS_N + tn;
  const int m0 = get_group_id(1) * TILE_M;
  const int n0 = get_group_id(0) * TILE_N;

  /* +1 column: tiles are filled along k when k is contiguous, which would
   * otherwise hit one local-memory bank. With DB, two of each. */
  __local float As[1 + DB][TILE_K][TILE_M + 1];
  __local float Bs[1 + DB][TILE_K][TILE_N + 1];

  float acc[WPT_M][WPT_N];
  for (int wm = 0; wm < WPT_M; wm++)
    for (int wn = 0; wn < WPT_N; wn++) acc[wm][wn] = 0.0f;

  /* Steps t of this group's sum: member first + t / KT of the batch, K from
   * (t % KT) * TILE_K. */
  const int z = get_group_id(2);
  const int first = z * SUM, KT = (K + TILE_K - 1) / TILE_K;
  const int T = (min(BATCH, (z + 1) * SUM) - first) * KT;
#define LOAD(buf, t)                                                                           \
  {                                                                                            \
    const int e = first + (t) / KT, k0 = ((t) % KT) * TILE_K;                                  \
    load_tile(&As[buf][0][0], TILE_M, A, offA + e * bA, sAm, sAk, m0, M, k0, K, tid);          \
    load_tile(&Bs[buf][0][0], TILE_N, B, offB + e * bB, sBn, sBk, n0, N, k0, K, tid);          \
  }
#define MULTIPLY(buf)                                                                          \
  for (int kk = 0; kk < TILE_K; kk++) {                                                        \
    float a[WPT_M], b[WPT_N];                                                                  \
    for (int wm = 0; wm < WPT_M; wm++) a[wm] = As[buf][kk][tm + wm * THREADS_M];               \
    for (int wn = 0; wn < WPT_N; wn++) b[wn] = Bs[buf][kk][tn + wn * THREADS_N];               \
    for (int wm = 0; wm < WPT_M; wm++)                                                         \
      for (int wn = 0; wn < WPT_N; wn++) acc[wm][wn] += a[wm] * b[wn];                         \
  }

#if DB
  /* Step t multiplies buffer t & 1 while the next step's tiles fill the other;
   * the barrier after each step keeps every work-item out of a buffer until
   * all are done with it. */
  if (T > 0) LOAD(0, 0);
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int t = 0; t < T; t++) {
    if (t + 1 < T) LOAD((t + 1) & 1, t + 1);
    MULTIPLY(t & 1);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#else
  for (int t = 0; t < T; t++) {
    LOAD(0, t);
    barrier(CLK_LOCAL_MEM_FENCE);
    MULTIPLY(0);
    barrier(CLK_LOCAL_MEM_FENCE);
  }
#endif

  for (int wm = 0; wm < WPT_M; wm++) {
    const int gm = m0 + tm + wm * THREADS_M;
    if (gm >= M) continue;
    for (int wn = 0; wn < WPT_N; wn++) {
      const int gn = n0 + tn + wn * THREADS_N;
      if (gn >= N) continue;
      const int idx = offC + z * bC + gm * ldc + gn;
      float v = beta == 0.0f ? alpha * acc[wm][wn] : alpha * acc[wm][wn] + beta * C[idx];
      if (bias_mode == 1) v += bias[offBias + gm];
      else if (bias_mode == 2) v += bias[offBias + gn];
      C[idx] = activate(act, v);
    }
  }
}
