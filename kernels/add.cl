#include "common.h"

/* z = a + b, where b has m elements and repeats every m elements of a
 * (m == n when the shapes are equal). */
__kernel void add_forward(const int n, const int m, __global const float *a,
                          __global const float *b, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = a[i] + b[i % m];
}

/* da (+)= dz */
__kernel void add_backward(const int n, __global const float *dz, __global float *da, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, da[i], dz[i]);
}

/* db[j] (+)= sum of dz over the n/m rows that b was added to (one work-item per
 * element of b). */
__kernel void add_backward_broadcast(const int n, const int m, __global const float *dz,
                                     __global float *db, const int acc) {
  column_sum_write(n / m, m, dz, db, acc);
}
