package dev.nodal.ops;

import dev.nodal.tensor.FusedActivation;

/** What a convolution's CPU lowering and its kernels both read of the op: its settings. */
abstract class Conv2dPart {
  final int sh, sw, ph, pw, dh, dw, groups;
  final boolean bias;
  final FusedActivation activation;

  Conv2dPart(Conv2d op) {
    this.sh = op.sh;
    this.sw = op.sw;
    this.ph = op.ph;
    this.pw = op.pw;
    this.dh = op.dh;
    this.dw = op.dw;
    this.groups = op.groups;
    this.bias = op.bias;
    this.activation = op.activation;
  }
}
