#include "common.h"

/* Sum or mean over chosen axes (ops Sum and Mean). The input is g0 x ... x g7 (runs of adjacent
 * axes merged, padded with 1s in front), g7 varying fastest; bit k of 'reduced' marks g_k as
 * summed over. The output holds the kept g_k in order, 'outputs' elements; each sums 'count'
 * elements of x, times 'scale' (1 for a sum, 1/count for a mean). */

#define REDUCE_GROUPS 8

/* Fills d with the eight sizes. */
#define REDUCE_DIMS(d) int d[REDUCE_GROUPS] = {g0, g1, g2, g3, g4, g5, g6, g7}

/* Offset in x of the first element that output o sums; the reduced runs' sizes and strides,
 * innermost first, into rd and rs; returns how many reduced runs there are. */
inline int reduce_base(int o, const int *d, const int reduced, int *base, int *rd, int *rs) {
  int stride = 1, runs = 0, off = 0;
  for (int k = REDUCE_GROUPS - 1; k >= 0; k--) {
    if ((reduced >> k) & 1) {
      rd[runs] = d[k];
      rs[runs] = stride;
      runs++;
    } else {
      off += (o % d[k]) * stride;
      o /= d[k];
    }
    stride *= d[k];
  }
  *base = off;
  return runs;
}

/* Offset from the base of the r-th element summed. */
inline int reduce_offset(int r, const int runs, const int *rd, const int *rs) {
  int off = 0;
  for (int j = 0; j < runs; j++) {
    off += (r % rd[j]) * rs[j];
    r /= rd[j];
  }
  return off;
}

/* One work-item per output element, summing its count elements in a loop. */
__kernel void reduce_forward(const int outputs, const int count, const int g0, const int g1,
                             const int g2, const int g3, const int g4, const int g5, const int g6,
                             const int g7, const int reduced, const float scale,
                             __global const float *x, __global float *z) {
  const int o = get_global_id(0);
  if (o >= outputs) return;
  REDUCE_DIMS(d);
  int rd[REDUCE_GROUPS], rs[REDUCE_GROUPS], base;
  const int runs = reduce_base(o, d, reduced, &base, rd, rs);
  float sum = 0.0f, carry = 0.0f;
  for (int r = 0; r < count; r++) kahan_add(&sum, &carry, x[base + reduce_offset(r, runs, rd, rs)]);
  z[o] = sum * scale;
}

/* One work-group per output element, for long sums: the group's work-items share its elements. */
__kernel void reduce_forward_groups(const int outputs, const int count, const int g0, const int g1,
                                    const int g2, const int g3, const int g4, const int g5,
                                    const int g6, const int g7, const int reduced,
                                    const float scale, __global const float *x, __global float *z,
                                    __local float *scratch) {
  const int o = get_group_id(0);
  REDUCE_DIMS(d);
  int rd[REDUCE_GROUPS], rs[REDUCE_GROUPS], base;
  const int runs = reduce_base(o, d, reduced, &base, rd, rs);
  float sum = 0.0f, carry = 0.0f;
  for (int r = get_local_id(0); r < count; r += get_local_size(0)) {
    kahan_add(&sum, &carry, x[base + reduce_offset(r, runs, rd, rs)]);
  }
  const float total = group_sum(sum, scratch);
  if (get_local_id(0) == 0 && o < outputs) z[o] = total * scale;
}

/* dx (+)= scale * dz at the output element that x's element i was summed into; one work-item
 * per element of x. */
__kernel void reduce_backward(const int size, const int g0, const int g1, const int g2,
                              const int g3, const int g4, const int g5, const int g6, const int g7,
                              const int reduced, const float scale, __global const float *dz,
                              __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i >= size) return;
  REDUCE_DIMS(d);
  int rest = i, o = 0, stride = 1;
  for (int k = REDUCE_GROUPS - 1; k >= 0; k--) {
    const int index = rest % d[k];
    rest /= d[k];
    if (!((reduced >> k) & 1)) {
      o += index * stride;
      stride *= d[k];
    }
  }
  GRAD_WRITE(acc, dx[i], scale * dz[o]);
}
