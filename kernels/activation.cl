#include "common.h"

/* The activations whose derivative is a function of their output (relu,
 * sigmoid, tanh), one kernel pair for all: act is a FusedActivation code
 * (ACT_RELU, ACT_SIGMOID, ACT_TANH). */

/* z = activate(act, x) */
__kernel void activation_forward(const int n, const int act, __global const float *x, __global float *z) {
  const int i = get_global_id(0);
  if (i < n) z[i] = activate(act, x[i]);
}

/* dx (+)= activation_grad(act, z, dz), from the output z */
__kernel void activation_backward(const int n, const int act, __global const float *z, __global const float *dz,
                                  __global float *dx, const int acc) {
  const int i = get_global_id(0);
  if (i < n) GRAD_WRITE(acc, dx[i], activation_grad(act, z[i], dz[i]));
}
