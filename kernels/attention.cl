#include "common.h"

/* Scaled dot-product attention, fused (Attention.java): q [lead, tq, d], k [lead, tk, d],
 * v [lead, tk, dv], o [lead, tq, dv]. The weights P = softmax(scale q k^T) are never stored: forward
 * runs an online softmax over tiles of keys and saves each query row's log-sum-exp lse; backward
 * recomputes P = exp(scale q k^T - lse) tile by tile. Key j is visible to query i when causal == 0
 * or j <= i + tk - tq. Weight (b, i, j) is dropped as dropout_scale(p, seed, step, (b*tq + i)*tk + j)
 * says (p = 0: kept unscaled).
 *
 * Each work-group holds ATT_TILE work-items along dimension 0 (one query row, or one key row, each)
 * and one leading index along dimension 1. Tiles of the other operand's rows are staged in local
 * memory ATT_CHUNK features at a time, so any d and dv fit. Work-items past the last row take part
 * in the barriers and write nothing. */

#define ATT_TILE 16
#define ATT_CHUNK 16

/* tile[r * ATT_CHUNK + c] = src[(r0 + r) * cols + c0 + c], 0 outside rows x cols; every work-item
 * of the group helps. Barriers before and after keep the tile's readers and writers apart. */
inline void att_stage(__local float *tile, __global const float *src, const int rows, const int cols, const int r0,
                      const int c0) {
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int e = get_local_id(0); e < ATT_TILE * ATT_CHUNK; e += ATT_TILE) {
    const int r = r0 + e / ATT_CHUNK, c = c0 + e % ATT_CHUNK;
    tile[e] = r < rows && c < cols ? src[r * cols + c] : 0.0f;
  }
  barrier(CLK_LOCAL_MEM_FENCE);
}

/* The dropout factor of weight (b, i, j), computed with Java's wrapping int arithmetic. */
inline float att_drop(const float p, const int seed, const int step, const int b, const int tq, const int tk,
                      const int i, const int j) {
  return dropout_scale(p, seed, step, (int) (((uint) b * (uint) tq + (uint) i) * (uint) tk + (uint) j));
}

/* s[t] = dot(row x of length n, rows r0 + t of m [rows, n]), for the ATT_TILE rows of a tile. */
inline void att_dots(float *s, __local float *tile, __global const float *x, __global const float *m, const int rows,
                     const int n, const int r0, const bool active) {
  for (int t = 0; t < ATT_TILE; t++) s[t] = 0.0f;
  for (int c0 = 0; c0 < n; c0 += ATT_CHUNK) {
    att_stage(tile, m, rows, n, r0, c0);
    if (active) {
      const int cn = min(ATT_CHUNK, n - c0);
      for (int c = 0; c < cn; c++) {
        const float xc = x[c0 + c];
        for (int t = 0; t < ATT_TILE; t++) s[t] += xc * tile[t * ATT_CHUNK + c];
      }
    }
  }
}

/* y[c] (+)= f * sum_t w[t] * m[r0 + t][c] for c < n: the weighted rows of a tile of m [rows, n]. */
inline void att_accumulate(__global float *y, const float *w, const float f, __local float *tile,
                           __global const float *m, const int rows, const int n, const int r0, const bool active) {
  for (int c0 = 0; c0 < n; c0 += ATT_CHUNK) {
    att_stage(tile, m, rows, n, r0, c0);
    if (active) {
      const int cn = min(ATT_CHUNK, n - c0);
      for (int c = 0; c < cn; c++) {
        float sum = 0.0f;
        for (int t = 0; t < ATT_TILE; t++) sum += w[t] * tile[t * ATT_CHUNK + c];
        y[c0 + c] = y[c0 + c] * f + sum;
      }
    }
  }
}

/* One work-item per query row i: o_i = sum_j P_ij drop_ij v_j over tiles of keys, with a running
 * maximum m and sum l of the row's exponentials; o_i is kept in o and rescaled as m grows. */
__kernel void attention_forward(const int tq, const int tk, const int d, const int dv, const int causal,
                                const float scale, const float p, const int seed, const int step,
                                __global const float *q, __global const float *k, __global const float *v,
                                __global float *o, __global float *lse) {
  __local float tile[ATT_TILE * ATT_CHUNK];
  const int b = get_global_id(1), i = get_global_id(0), i0 = get_group_id(0) * ATT_TILE;
  const bool active = i < tq;
  const int row = min(i, tq - 1), visible = causal ? causal_visible(row, tq, tk) : tk;
  const int keys = causal ? min(tk, causal_visible(min(i0 + ATT_TILE, tq) - 1, tq, tk)) : tk; /* as the group's last row sees */
  __global const float *qi = q + (b * tq + row) * d, *kb = k + b * tk * d, *vb = v + b * tk * dv;
  __global float *oi = o + (b * tq + row) * dv;
  if (active) for (int c = 0; c < dv; c++) oi[c] = 0.0f;
  float m = -INFINITY, l = 0.0f, s[ATT_TILE];
  for (int j0 = 0; j0 < keys; j0 += ATT_TILE) {
    att_dots(s, tile, qi, kb, tk, d, j0, active);
    float tile_max = -INFINITY;
    for (int t = 0; t < ATT_TILE; t++) {
      s[t] = j0 + t < visible ? s[t] * scale : -INFINITY;
      tile_max = fmax(tile_max, s[t]);
    }
    const float grown = fmax(m, tile_max), f = exp(m - grown);
    l *= f;
    for (int t = 0; t < ATT_TILE; t++) {
      const float e = j0 + t < visible ? exp(s[t] - grown) : 0.0f;
      l += e;
      s[t] = e == 0.0f ? 0.0f : e * att_drop(p, seed, step, b, tq, tk, row, j0 + t);
    }
    m = grown;
    att_accumulate(oi, s, f, tile, vb, tk, dv, j0, active);
  }
  if (active) {
    const float inv = 1.0f / l;
    for (int c = 0; c < dv; c++) oi[c] *= inv;
    lse[b * tq + i] = m + log(l);
  }
}

/* delta[r] = sum_c dO[r][c] o[r][c], one work-item per row of the output. */
__kernel void attention_delta(const int rows, const int dv, __global const float *o, __global const float *dO,
                              __global float *delta) {
  const int r = get_global_id(0);
  if (r >= rows) return;
  float sum = 0.0f, carry = 0.0f;
  for (int c = 0; c < dv; c++) kahan_add(&sum, &carry, dO[r * dv + c] * o[r * dv + c]);
  delta[r] = sum;
}

/* One work-item per query row i: dq_i (+)= scale sum_j P_ij (drop_ij dP_ij - delta_i) k_j, where
 * dP_ij = dO_i . v_j, over tiles of keys. */
__kernel void attention_backward_q(const int tq, const int tk, const int d, const int dv, const int causal,
                                   const float scale, const float p, const int seed, const int step,
                                   __global const float *q, __global const float *k, __global const float *v,
                                   __global const float *dO, __global const float *lse,
                                   __global const float *delta, __global float *dq, const int acc) {
  __local float tile[ATT_TILE * ATT_CHUNK];
  const int b = get_global_id(1), i = get_global_id(0), i0 = get_group_id(0) * ATT_TILE;
  const bool active = i < tq;
  const int row = min(i, tq - 1), visible = causal ? causal_visible(row, tq, tk) : tk;
  const int keys = causal ? min(tk, causal_visible(min(i0 + ATT_TILE, tq) - 1, tq, tk)) : tk;
  __global const float *qi = q + (b * tq + row) * d, *kb = k + b * tk * d, *vb = v + b * tk * dv;
  __global const float *doi = dO + (b * tq + row) * dv;
  __global float *dqi = dq + (b * tq + row) * d;
  const float li = lse[b * tq + row], di = delta[b * tq + row];
  if (active && !acc) for (int c = 0; c < d; c++) dqi[c] = 0.0f;
  float s[ATT_TILE], dp[ATT_TILE];
  for (int j0 = 0; j0 < keys; j0 += ATT_TILE) {
    att_dots(s, tile, qi, kb, tk, d, j0, active);
    att_dots(dp, tile, doi, vb, tk, dv, j0, active);
    for (int t = 0; t < ATT_TILE; t++) {
      const float w = j0 + t < visible ? exp(s[t] * scale - li) : 0.0f;
      s[t] = w == 0.0f ? 0.0f : w * (dp[t] * att_drop(p, seed, step, b, tq, tk, row, j0 + t) - di) * scale;
    }
    att_accumulate(dqi, s, 1.0f, tile, kb, tk, d, j0, active);
  }
}

/* One work-item per key row j, over tiles of the queries that see it:
 * dv_j (+)= sum_i P_ij drop_ij dO_i and dk_j (+)= scale sum_i P_ij (drop_ij dP_ij - delta_i) q_i.
 * A flag of -1 skips that gradient (its buffer is then the other one's); dk and dv may be one
 * buffer (k and v one node), rows zeroed only by a flag of 0 and then added to. */
__kernel void attention_backward_kv(const int tq, const int tk, const int d, const int dv, const int causal,
                                    const float scale, const float p, const int seed, const int step,
                                    __global const float *q, __global const float *k, __global const float *v,
                                    __global const float *dO, __global const float *lse,
                                    __global const float *delta, __global float *dk, __global float *dvv,
                                    const int acc_k, const int acc_v) {
  __local float tile[ATT_TILE * ATT_CHUNK];
  __local float tile_lse[ATT_TILE], tile_delta[ATT_TILE];
  const int b = get_global_id(1), j = get_global_id(0), j0 = get_group_id(0) * ATT_TILE;
  const bool active = j < tk;
  const int col = min(j, tk - 1);
  /* the first query that sees key j0, rounded down to a tile */
  const int first = causal ? max(0, j0 - (tk - tq)) / ATT_TILE * ATT_TILE : 0;
  __global const float *kj = k + (b * tk + col) * d, *vj = v + (b * tk + col) * dv;
  __global const float *qb = q + b * tq * d, *dob = dO + b * tq * dv;
  __global float *dkj = dk + (b * tk + col) * d, *dvj = dvv + (b * tk + col) * dv;
  if (active && acc_k == 0) for (int c = 0; c < d; c++) dkj[c] = 0.0f;
  if (active && acc_v == 0) for (int c = 0; c < dv; c++) dvj[c] = 0.0f;
  float s[ATT_TILE], dp[ATT_TILE];
  for (int i0 = first; i0 < tq; i0 += ATT_TILE) {
    barrier(CLK_LOCAL_MEM_FENCE);
    if (get_local_id(0) < ATT_TILE) {
      const int i = i0 + get_local_id(0);
      tile_lse[get_local_id(0)] = i < tq ? lse[b * tq + i] : 0.0f;
      tile_delta[get_local_id(0)] = i < tq ? delta[b * tq + i] : 0.0f;
    }
    att_dots(s, tile, kj, qb, tq, d, i0, active);
    att_dots(dp, tile, vj, dob, tq, dv, i0, active);
    for (int t = 0; t < ATT_TILE; t++) {
      const int i = i0 + t;
      const bool seen = i < tq && (!causal || col < causal_visible(i, tq, tk));
      const float w = seen ? exp(s[t] * scale - tile_lse[t]) : 0.0f;
      const float drop = w == 0.0f ? 0.0f : att_drop(p, seed, step, b, tq, tk, i, col);
      s[t] = w * (dp[t] * drop - tile_delta[t]) * scale;
      dp[t] = w * drop;
    }
    if (acc_v >= 0) att_accumulate(dvj, dp, 1.0f, tile, dob, tq, dv, i0, active);
    if (acc_k >= 0) att_accumulate(dkj, s, 1.0f, tile, qb, tq, d, i0, active);
  }
}
