package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * 2-D convolution of NCHW images as PyTorch's {@code conv2d}: input {@code x [N, C, H, W]},
 * weight {@code w [K, C/g, R, S]}, optional bias {@code b [K]}, with stride, padding, dilation
 * and g groups:
 *
 * <pre>
 * z[n, k, p, q] = b[k] + Σ_{c in k's group} Σ_r Σ_s x[n, c, p·sh − ph + r·dh, q·sw − pw + s·dw] · w[k, c', r, s]
 * </pre>
 *
 * (positions outside the image count as 0). Backward: {@code dx} gathers, for each input
 * position, the outputs whose windows cover it; {@code dw} sums {@code dz · x} over N·P·Q;
 * {@code db} sums {@code dz} over N·P·Q. The CPU lowers each image and group to a GEMM over its
 * patches (im2col, in per-thread scratch) and runs chunks of images in parallel. On OpenCL the
 * {@link Algorithm} picks between the same lowering (patch matrices in the plan's scratch, products
 * batched over a chunk of images on {@code gemm.cl}) and a direct form (one work-item per element
 * written, with compensated sums).
 */
public final class Conv2d implements Op {

  final int sh, sw, ph, pw, dh, dw, groups;
  final boolean bias;
  final Algorithm algorithm;
  final int patchFloats;
  final FusedActivation activation;
  private final Conv2dCpu cpu;
  private final Conv2dKernels kernels;

  /**
   * The form of the OpenCL kernels; the CPU backend always lowers to GEMM. Both forms compute the
   * same sums, in a different order.
   */
  public enum Algorithm {
    /** Picked per shape class: see {@link Conv2d#usesIm2col}. */
    AUTO,
    /** One work-item per element written, each summing its whole window or reduction. */
    DIRECT,
    /** Patch matrices (im2col) in scratch, multiplied on {@code gemm.cl}. */
    IM2COL;

    String attribute() {
      return name().toLowerCase(java.util.Locale.ROOT);
    }

    static Algorithm parse(Object value) {
      for (Algorithm a : values()) if (a.attribute().equals(String.valueOf(value))) return a;
      throw new IllegalArgumentException("conv2d: attribute 'algorithm' must be auto, direct or im2col, not '" + value
          + "'");
    }
  }

  private Conv2d(Builder b) {
    this.sh = b.sh;
    this.sw = b.sw;
    this.ph = b.ph;
    this.pw = b.pw;
    this.dh = b.dh;
    this.dw = b.dw;
    this.groups = b.groups;
    this.bias = b.bias;
    this.algorithm = b.algorithm;
    this.patchFloats = b.patchFloats;
    this.activation = b.activation;
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0 || groups < 1 || patchFloats < 1) {
      throw new IllegalArgumentException("conv2d: stride, dilation, groups and patch_floats must be >= 1, padding >= 0;"
          + " got " + attributes());
    }
    this.cpu = new Conv2dCpu(this);
    this.kernels = new Conv2dKernels(this);
  }

  /** Stride 1, padding 0, dilation 1, one group, with a bias. */
  public static Builder builder() {
    return new Builder();
  }

  /** Named settings with PyTorch's defaults. */
  public static final class Builder {
    private int sh = 1, sw = 1, ph, pw, dh = 1, dw = 1, groups = 1;
    private boolean bias = true;
    private Algorithm algorithm = Algorithm.AUTO;
    private int patchFloats = PATCH_FLOATS;
    private FusedActivation activation = FusedActivation.NONE;

    public Builder stride(int s) {
      return stride(s, s);
    }

    public Builder stride(int h, int w) {
      sh = h;
      sw = w;
      return this;
    }

    public Builder padding(int p) {
      return padding(p, p);
    }

    public Builder padding(int h, int w) {
      ph = h;
      pw = w;
      return this;
    }

    public Builder dilation(int d) {
      return dilation(d, d);
    }

    public Builder dilation(int h, int w) {
      dh = h;
      dw = w;
      return this;
    }

    public Builder groups(int g) {
      groups = g;
      return this;
    }

    public Builder bias(boolean b) {
      bias = b;
      return this;
    }

    /** The form of the OpenCL kernels (default {@link Algorithm#AUTO}). */
    public Builder algorithm(Algorithm a) {
      algorithm = java.util.Objects.requireNonNull(a, "algorithm");
      return this;
    }

    /**
     * The most floats one im2col patch matrix may take on a device (default 2^24): a batch runs
     * in chunks of as many images as fit, at least one. Smaller saves memory, larger saves launches.
     */
    public Builder patchFloats(int floats) {
      patchFloats = floats;
      return this;
    }

    /**
     * An activation applied as each output is written (default none): the convolution and a
     * ReLU, sigmoid or tanh node in one, without the activation's pass over memory.
     */
    public Builder activation(FusedActivation a) {
      activation = java.util.Objects.requireNonNull(a, "activation");
      return this;
    }

    public Conv2d build() {
      return new Conv2d(this);
    }
  }

  /** The graph file's attributes of a convolution. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.integer("stride_h", 1, 1, Integer.MAX_VALUE), AttributeSchema.integer("stride_w", 1, 1, Integer.MAX_VALUE),
      AttributeSchema.integer("pad_h", 0, 0, Integer.MAX_VALUE), AttributeSchema.integer("pad_w", 0, 0, Integer.MAX_VALUE),
      AttributeSchema.integer("dilation_h", 1, 1, Integer.MAX_VALUE),
      AttributeSchema.integer("dilation_w", 1, 1, Integer.MAX_VALUE),
      AttributeSchema.integer("groups", 1, 1, Integer.MAX_VALUE), AttributeSchema.bool("bias", true),
      AttributeSchema.choice("algorithm", "auto", java.util.Arrays.stream(Algorithm.values()).map(Algorithm::attribute).toList()),
      AttributeSchema.integer("patch_floats", Conv2d.PATCH_FLOATS, 1, Integer.MAX_VALUE),
      AttributeSchema.choice("activation", "none", FusedActivation.names()));

  static Conv2d fromAttributes(AttributeSchema.Values a) {
    return builder().stride(a.integer("stride_h"), a.integer("stride_w")).padding(a.integer("pad_h"), a.integer("pad_w"))
        .dilation(a.integer("dilation_h"), a.integer("dilation_w")).groups(a.integer("groups")).bias(a.bool("bias"))
        .algorithm(Algorithm.parse(a.text("algorithm"))).patchFloats(a.integer("patch_floats"))
        .activation(FusedActivation.parse("conv2d", a.text("activation"))).build();
  }


  @Override
  public String kind() {
    return "conv2d";
  }

  @Override
  public List<String> inputRoles() {
    return bias ? List.of("x", "w", "b") : List.of("x", "w");
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("stride_h", sh);
    a.put("stride_w", sw);
    a.put("pad_h", ph);
    a.put("pad_w", pw);
    a.put("dilation_h", dh);
    a.put("dilation_w", dw);
    a.put("groups", groups);
    a.put("bias", bias);
    a.put("algorithm", algorithm.attribute());
    a.put("patch_floats", patchFloats);
    if (activation != FusedActivation.NONE) a.put("activation", activation.attribute());
    return a;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 4, "NCHW images");
    c.requireRank(1, 4, "a weight of [K, C/groups, R, S]");
    Shape x = c.in(0), w = c.in(1);
    int channels = x.dim(1), k = w.dim(0);
    if (channels % groups != 0 || k % groups != 0) {
      throw c.error("%d input channels and %d filters must both divide into %d groups", channels, k, groups);
    }
    if (w.dim(1) != channels / groups) {
      throw c.error("weight '%s' %s expects %d input channels per group, input '%s' %s has %d", c.name(1), w, w.dim(1),
          c.name(0), x, channels / groups);
    }
    if (bias) {
      c.requireRank(2, 1, "a bias of [K]");
      if (c.in(2).dim(0) != k) throw c.error("bias '%s' %s must have %d elements, one per filter", c.name(2), c.in(2), k);
    }
    int p = out(x.dim(2), w.dim(2), sh, ph, dh), q = out(x.dim(3), w.dim(3), sw, pw, dw);
    if (p < 1 || q < 1) {
      throw c.error("a %dx%d window (dilation %dx%d) does not fit input '%s' %s with padding %dx%d", w.dim(2), w.dim(3),
          dh, dw, c.name(0), x, ph, pw);
    }
    return Shape.of(x.dim(0), k, p, q);
  }

  static int out(int size, int window, int stride, int pad, int dilation) {
    return (size + 2 * pad - dilation * (window - 1) - 1) / stride + 1;
  }





  




  /** Floats that one patch matrix may take by default: see {@link Builder#patchFloats}. */
  static final int PATCH_FLOATS = 1 << 24;
  /** Work-groups that a weight-gradient product should give the device at least, by splitting the batch. */
  static final int WEIGHT_GRAD_GROUPS = 128;

  /**
   * True when the OpenCL kernels take the im2col form. {@link Algorithm#AUTO} picks it for
   * convolutions of at most 4 groups whose window covers at least 16 taps (C/g·R·S): there the
   * products are large enough for {@code gemm.cl}'s tiles. Depthwise and other many-group
   * convolutions, and windows of a few taps (the first layer of a grey-scale network), stay
   * direct. Measured on PoCL: see docs/PERFORMANCE.md.
   */
  boolean usesIm2col(Shape x, Shape w) {
    return switch (algorithm) {
      case DIRECT -> false;
      case IM2COL -> true;
      case AUTO -> groups <= 4 && (x.dim(1) / groups) * w.dim(2) * w.dim(3) >= 16;
    };
  }







  /** The CPU's GEMM lowering: see {@link Conv2dCpu}. */
  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    cpu.forward(pass, in, out);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    cpu.backward(pass, in, out, dOut, dIn);
  }

  /**
   * Forward: the im2col form's patch matrix, for the largest batch. Backward: the patch matrix
   * and the partial weight gradients, then, with an activation, dz·f' over the whole output (the
   * only one in the direct form). See {@link Conv2dKernels}.
   */
  @Override
  public List<Shape> scratch(Shape[] in, boolean backward) {
    return kernels.scratch(in, backward);
  }

  @Override
  public void forwardKernels(Launcher l) {
    kernels.forwardKernels(l);
  }

  @Override
  public void backwardKernels(Launcher l) {
    kernels.backwardKernels(l);
  }

  /** The longest sum: C/g·R·S products per output, or N·P·Q per weight and bias gradient. */
  @Override
  public int reductionLength(Shape[] in) {
    int cg = in[0].dim(1) / groups;
    int window = cg * in[1].dim(2) * in[1].dim(3);
    int p = out(in[0].dim(2), in[1].dim(2), sh, ph, dh), q = out(in[0].dim(3), in[1].dim(3), sw, pw, dw);
    return Math.max(window, in[0].dim(0) * Math.max(1, p) * Math.max(1, q));
  }
}
