#include "common.h"

/* Elementwise arithmetic of two tensors with broadcasting (ops/Broadcast.java).
 * The host describes the output as 6 dimensions d0..d5 (row-major, leading
 * ones as padding) and each input by its strides over them: 0 along a
 * dimension where it is repeated. op: 0 add, 1 sub, 2 mul, 3 div. */

inline float arithmetic(const int op, const float a, const float b) {
  switch (op) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    default: return a / b;
  }
}

/* z = a op b: one work-item per output element. */
__kernel void broadcast_forward(const int op, const int n,
                                const int d0, const int d1, const int d2, const int d3, const int d4, const int d5,
                                const int sa0, const int sa1, const int sa2, const int sa3, const int sa4, const int sa5,
                                const int sb0, const int sb1, const int sb2, const int sb3, const int sb4, const int sb5,
                                __global const float *a, __global const float *b, __global float *z) {
  const int i = get_global_id(0);
  if (i >= n) return;
  const int d[6] = {d0, d1, d2, d3, d4, d5};
  const int sa[6] = {sa0, sa1, sa2, sa3, sa4, sa5}, sb[6] = {sb0, sb1, sb2, sb3, sb4, sb5};
  int rest = i, ai = 0, bi = 0;
  for (int k = 5; k >= 0; k--) {
    const int at = rest % d[k];
    rest /= d[k];
    ai += at * sa[k];
    bi += at * sb[k];
  }
  z[i] = arithmetic(op, a[ai], b[bi]);
}

/* The output offset of element i of an input x (strides sx), and the row-major
 * strides os of the output. */
inline int kept_offset(const int i, const int *d, const int *sx, int *os) {
  int step = 1, off = 0;
  for (int k = 5; k >= 0; k--) {
    os[k] = step;
    if (sx[k] != 0) off += (i / sx[k]) % d[k] * step;
    step *= d[k];
  }
  return off;
}

/* The output offset of the j-th position (in row-major order) over the
 * dimensions where x repeats (sx == 0). */
inline int repeat_offset(int j, const int *d, const int *sx, const int *os) {
  int off = 0;
  for (int k = 5; k >= 0; k--) {
    if (sx[k] == 0) {
      off += j % d[k] * os[k];
      j /= d[k];
    }
  }
  return off;
}

/* dx (+)= sign * (sum of dz over the reps positions where x repeats): add and
 * sub. One work-item per element of x (m of them), summing in a fixed order. */
__kernel void broadcast_backward_sum(const float sign, const int m, const int reps,
                                     const int d0, const int d1, const int d2, const int d3, const int d4, const int d5,
                                     const int sx0, const int sx1, const int sx2, const int sx3, const int sx4, const int sx5,
                                     __global const float *dz, __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i >= m) return;
  const int d[6] = {d0, d1, d2, d3, d4, d5}, sx[6] = {sx0, sx1, sx2, sx3, sx4, sx5};
  int os[6];
  const int base = kept_offset(i, d, sx, os);
  float sum = 0.0f, carry = 0.0f;
  for (int j = 0; j < reps; j++) kahan_add(&sum, &carry, dz[base + repeat_offset(j, d, sx, os)]);
  GRAD_WRITE(acc, dx[i], sign * sum);
}

/* dx (+)= the sum over the positions where x repeats of dz times the partial
 * derivative of a op b with respect to x (input 0: a, 1: b): mul and div. */
__kernel void broadcast_backward(const int op, const int input, const int m, const int reps,
                                 const int d0, const int d1, const int d2, const int d3, const int d4, const int d5,
                                 const int sa0, const int sa1, const int sa2, const int sa3, const int sa4, const int sa5,
                                 const int sb0, const int sb1, const int sb2, const int sb3, const int sb4, const int sb5,
                                 __global const float *a, __global const float *b, __global const float *dz,
                                 __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i >= m) return;
  const int d[6] = {d0, d1, d2, d3, d4, d5};
  const int sa[6] = {sa0, sa1, sa2, sa3, sa4, sa5}, sb[6] = {sb0, sb1, sb2, sb3, sb4, sb5};
  const int *sx = input == 0 ? sa : sb;
  int os[6];
  const int base = kept_offset(i, d, sx, os);
  float sum = 0.0f, carry = 0.0f;
  for (int j = 0; j < reps; j++) {
    int o = base + repeat_offset(j, d, sx, os), rest = o, ai = 0, bi = 0;
    for (int k = 5; k >= 0; k--) {
      const int at = rest % d[k];
      rest /= d[k];
      ai += at * sa[k];
      bi += at * sb[k];
    }
    const float g = op == 2 ? dz[o] * (input == 0 ? b[bi] : a[ai])
                  : input == 0 ? dz[o] / b[bi] : -dz[o] * (a[ai] / b[bi] / b[bi]);
    kahan_add(&sum, &carry, g);
  }
  GRAD_WRITE(acc, dx[i], sum);
}
