#include "common.h"

/* The products X·W, dZ·Wᵀ and Xᵀ·dZ run on gemm.cl; these kernels add the
 * bias and its gradient. */

/* z[r, j] += b[j] for a rows×cols output */
__kernel void dense_forward_bias(const int rows, const int cols, __global const float *b,
                                 __global float *z) {
  const int i = get_global_id(0);
  if (i < rows * cols) z[i] += b[i % cols];
}

/* db[j] (+)= sum over rows of dz[r, j] (one work-item per column) */
__kernel void dense_backward_bias(const int rows, const int cols, __global const float *dz,
                                  __global float *db, const int acc) {
  column_sum_write(rows, cols, dz, db, acc);
}
