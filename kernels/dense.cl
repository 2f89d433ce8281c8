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

/* dy[r, j] = activation_grad(act, z[r, j], dz[r, j]) for a dense layer whose
 * activation ran in its product's epilogue, and with want_db, db[j] (+)= the
 * column sum of dy, from the same pass (one work-item per column). */
__kernel void dense_activation_backward(const int rows, const int cols, const int act,
                                        __global const float *z, __global const float *dz,
                                        __global float *dy, __global float *db, const int acc,
                                        const int want_db) {
  const int j = get_global_id(0);
  if (j >= cols) return;
  float sum = 0.0f, carry = 0.0f;
  for (int r = 0; r < rows; r++) {
    const float v = activation_grad(act, z[r * cols + j], dz[r * cols + j]);
    dy[r * cols + j] = v;
    kahan_add(&sum, &carry, v);
  }
  if (want_db) GRAD_WRITE(acc, db[j], sum);
}
