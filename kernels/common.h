/* Helpers shared by every Nodal kernel file. Each .cl file includes this
 * header by name; the host splices its text in before building. */
#ifndef NODAL_COMMON_H
#define NODAL_COMMON_H

/* Compensated (Kahan) accumulation: long sums keep about float precision
 * instead of losing log2(n) bits. Built without -cl-fast-relaxed-math, so the
 * compiler keeps the compensation. */
inline void kahan_add(float *sum, float *carry, float v) {
  float y = v - *carry;
  float t = *sum + y;
  *carry = (t - *sum) - y;
  *sum = t;
}

/* Sum of v over the work-group, whose size must be a power of two; every
 * work-item receives the total. scratch holds one float per work-item. */
inline float group_sum(float v, __local float *scratch) {
  const int lid = get_local_id(0);
  scratch[lid] = v;
  barrier(CLK_LOCAL_MEM_FENCE);
  for (int s = get_local_size(0) / 2; s > 0; s >>= 1) {
    if (lid < s) scratch[lid] += scratch[lid + s];
    barrier(CLK_LOCAL_MEM_FENCE);
  }
  float total = scratch[0];
  barrier(CLK_LOCAL_MEM_FENCE);
  return total;
}

/* The backward contract on a device: the first kernel to write a gradient in a
 * backward pass overwrites it (acc == 0), later ones add (acc == 1), so no
 * launch is spent zeroing gradients. */
#define GRAD_WRITE(acc, dst, v) ((dst) = (acc) ? (dst) + (v) : (v))

/* The activations a product can apply as it writes its result (gemm.cl's
 * epilogue), and the relu, sigmoid and tanh nodes (activation.cl):
 * activate(act, x) and activation_grad(act, z, dz), with one ACT_<NAME> per
 * constant of dev.nodal.tensor.FusedActivation. The host generates them from
 * that enum and splices them in here. */
NODAL_ACTIVATIONS

/* out[j] (+)= sum over r of x[r*cols + j], compensated, for the work-item's
 * column j < cols: the gradient of a vector broadcast over rows. */
inline void column_sum_write(const int rows, const int cols,
                             __global const float *x, __global float *out, const int acc) {
  const int j = get_global_id(0);
  if (j >= cols) return;
  float sum = 0.0f, carry = 0.0f;
  for (int r = 0; r < rows; r++) kahan_add(&sum, &carry, x[r * cols + j]);
  GRAD_WRITE(acc, out[j], sum);
}

/* Row maximum and sum of exp(x - max) of one row of cols scores. */
inline float row_max(__global const float *x, const int cols) {
  float m = -INFINITY;
  for (int j = 0; j < cols; j++) m = fmax(m, x[j]);
  return m;
}

inline float row_exp_sum(__global const float *x, const int cols, const float m) {
  float sum = 0.0f, carry = 0.0f;
  for (int j = 0; j < cols; j++) kahan_add(&sum, &carry, exp(x[j] - m));
  return sum;
}

#endif
