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

/* Dropout's mask, a counter-based hash, so that the mask of element i depends only on
 * (seed, step, i) and every backend draws the same one (Dropout.java computes the same hash):
 * dropout_scale is 1 / (1 - p) when element i is kept, its uniform u = (hash >> 8) / 2^24 at or
 * above p, else 0. With p = 0 (evaluation mode) every element is kept unscaled. Dropout and
 * attention's dropout of its weights use it. */
inline uint dropout_mix(uint h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

/* How many leading keys of tk query row i of tq sees under a causal mask: key j is seen when
 * j <= i + tk - tq (the mask aligned at the last query, as Softmax.causalVisible). */
inline int causal_visible(const int i, const int tq, const int tk) {
  return i + tk - tq + 1;
}

inline float dropout_scale(const float p, const int seed, const int step, const int i) {
  const uint h = dropout_mix((uint) i * 0x9e3779b9u ^ dropout_mix((uint) step ^ dropout_mix((uint) seed)));
  const float u = (float) (h >> 8) * (1.0f / 16777216.0f);
  return u >= p ? 1.0f / (1.0f - p) : 0.0f;
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
