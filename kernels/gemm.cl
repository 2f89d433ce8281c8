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

#define THREADS_M (TILE_M / WPT_M)
#define THREADS_N (TILE_N / WPT_N)
#define GROUP (THREADS_M * THREADS_N)

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
   * otherwise hit one local-memory bank. */
  __local float As[TILE_K][TILE_M + 1];
  __local float Bs[TILE_K][TILE_N + 1];

  float acc[WPT_M][WPT_N];
  for (int wm = 0; wm < WPT_M; wm++)
    for (int wn = 0; wn < WPT_N; wn++) acc[wm][wn] = 0.0f;

  const int z = get_group_id(2);
  for (int e = z * SUM; e < min(BATCH, (z + 1) * SUM); e++) { /* e: member of the batch */
    const int oA = offA + e * bA, oB = offB + e * bB;
    for (int k0 = 0; k0 < K; k0 += TILE_K) {
      /* Consecutive work-items read consecutive addresses: along k when that
       * is A's contiguous dimension, along m otherwise. */
      for (int l = tid; l < TILE_K * TILE_M; l += GROUP) {
        const int kk = sAk == 1 ? l % TILE_K : l / TILE_M;
        const int mm = sAk == 1 ? l / TILE_K : l % TILE_M;
        const int gm = m0 + mm, gk = k0 + kk;
        As[kk][mm] = (gm < M && gk < K) ? A[oA + gm * sAm + gk * sAk] : 0.0f;
      }
      for (int l = tid; l < TILE_K * TILE_N; l += GROUP) {
        const int kk = sBn == 1 ? l / TILE_N : l % TILE_K;
        const int nn = sBn == 1 ? l % TILE_N : l / TILE_K;
        const int gn = n0 + nn, gk = k0 + kk;
        Bs[kk][nn] = (gn < N && gk < K) ? B[oB + gk * sBk + gn * sBn] : 0.0f;
      }
      barrier(CLK_LOCAL_MEM_FENCE);

      for (int kk = 0; kk < TILE_K; kk++) {
        float a[WPT_M], b[WPT_N];
        for (int wm = 0; wm < WPT_M; wm++) a[wm] = As[kk][tm + wm * THREADS_M];
        for (int wn = 0; wn < WPT_N; wn++) b[wn] = Bs[kk][tn + wn * THREADS_N];
        for (int wm = 0; wm < WPT_M; wm++)
          for (int wn = 0; wn < WPT_N; wn++) acc[wm][wn] += a[wm] * b[wn];
      }
      barrier(CLK_LOCAL_MEM_FENCE);
    }
  }

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
