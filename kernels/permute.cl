#include "common.h"

/* A permutation of up to 6 dimensions, one work-item per output element: the output has dims
 * d0..d5 (padded in front with ones), and a step along output dimension k is a step of sk in the
 * input. Element e of z reads x at the sum of its coordinates times those strides. */
inline int permute_source(int e, const int d0, const int d1, const int d2, const int d3, const int d4,
                          const int d5, const int s0, const int s1, const int s2, const int s3,
                          const int s4, const int s5) {
  int src = (e % d5) * s5;
  e /= d5;
  src += (e % d4) * s4;
  e /= d4;
  src += (e % d3) * s3;
  e /= d3;
  src += (e % d2) * s2;
  e /= d2;
  src += (e % d1) * s1;
  e /= d1;
  return src + (e % d0) * s0;
}

/* z[e] = x[source(e)] */
__kernel void permute_forward(const int n, const int d0, const int d1, const int d2, const int d3,
                              const int d4, const int d5, const int s0, const int s1, const int s2,
                              const int s3, const int s4, const int s5, __global const float *x,
                              __global float *z) {
  const int e = get_global_id(0);
  if (e >= n) return;
  z[e] = x[permute_source(e, d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5)];
}

/* dx[source(e)] (+)= dz[e]: the inverse permutation; each element of dx has one source. */
__kernel void permute_backward(const int n, const int d0, const int d1, const int d2, const int d3,
                               const int d4, const int d5, const int s0, const int s1, const int s2,
                               const int s3, const int s4, const int s5, __global const float *dz,
                               __global float *dx, const int acc) {
  const int e = get_global_id(0);
  if (e >= n) return;
  const int i = permute_source(e, d0, d1, d2, d3, d4, d5, s0, s1, s2, s3, s4, s5);
  GRAD_WRITE(acc, dx[i], dz[e]);
}
