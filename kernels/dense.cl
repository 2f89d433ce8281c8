#include "common.h"

/* The products X·W, dZ·Wᵀ and Xᵀ·dZ run on gemm.cl, with the bias and the
 * activation in its epilogue; this kernel prepares backward. */

/* For each column j: with an activation (act != 0), dy[r, j] =
 * activation_grad(act, z[r, j], dz[r, j]) for every row r; with want_db,
 * db[j] (+)= the sum over rows of dy[r, j] (of dz[r, j] without an
 * activation, whose dy is dz itself). 2-D launch: dimension 0 over the
 * columns, dimension 1 one work-group of row slices (at most 256 work-items in
 * a group); the slices' compensated sums meet in local memory. */
__kernel void dense_backward(const int rows, const int cols, const int act, __global const float *z,
                             __global const float *dz, __global float *dy, __global float *db, const int acc,
                             const int want_db) {
  __local float part[256];
  const int j = get_global_id(0), lx = get_local_id(0), ly = get_local_id(1);
  const int wx = get_local_size(0), slices = get_local_size(1);
  float sum = 0.0f, carry = 0.0f;
  if (j < cols) {
    for (int r = ly; r < rows; r += slices) {
      const int i = r * cols + j;
      const float v = act != 0 ? activation_grad(act, z[i], dz[i]) : dz[i];
      if (act != 0) dy[i] = v;
      kahan_add(&sum, &carry, v);
    }
  }
  if (!want_db) return; /* the same for every work-item of the launch */
  part[ly * wx + lx] = sum;
  barrier(CLK_LOCAL_MEM_FENCE);
  if (ly == 0 && j < cols) {
    float total = 0.0f, c = 0.0f;
    for (int t = 0; t < slices; t++) kahan_add(&total, &c, part[t * wx + lx]);
    GRAD_WRITE(acc, db[j], total);
  }
}
