#include "common.h"

/* Inverted dropout with a counter-based hash, so that the mask of element i depends only on
 * (seed, step, i) and every backend draws the same one (Dropout.java computes the same hash).
 * Element i is kept when its uniform u = (hash >> 8) / 2^24 is >= p, and scaled by 1 / (1 - p).
 * With p = 0 (evaluation mode) every element is kept unscaled. */

inline uint dropout_mix(uint h) {
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

inline float dropout_scale(const float p, const int seed, const int step, const int i) {
  const uint h = dropout_mix((uint) i * 0x9e3779b9u ^ dropout_mix((uint) step ^ dropout_mix((uint) seed)));
  const float u = (float) (h >> 8) * (1.0f / 16777216.0f);
  return u >= p ? 1.0f / (1.0f - p) : 0.0f;
}

/* z = x * mask / (1 - p) */
__kernel void dropout_forward(const int n, const float p, const int seed, const int step,
                              __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = x[i] * dropout_scale(p, seed, step, i);
}

/* dx (+)= dz * mask / (1 - p) */
__kernel void dropout_backward(const int n, const float p, const int seed, const int step,
                               __global const float *dz, __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], dz[i] * dropout_scale(p, seed, step, i));
}
