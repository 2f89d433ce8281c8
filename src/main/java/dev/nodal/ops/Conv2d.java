package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Launcher.GemmEpilogue;
import dev.nodal.graph.Launcher.Matrix;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Epilogue;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.ThreadBuffers;
import dev.nodal.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

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
  private static final Kernel FORWARD = Kernel.of("conv2d", "conv2d_forward").ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW", "G").buffers("x", "w", "z").ints("act");
  private static final Kernel FORWARD_BIAS = Kernel.of("conv2d", "conv2d_forward_bias").ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW", "G").buffers("x", "w", "b", "z").ints("act");
  private static final Kernel ACTIVATION_GRAD = Kernel.of("conv2d", "conv2d_activation_grad").ints("n", "act").buffers("z", "dz", "dy");
  private static final Kernel BACKWARD_INPUT = Kernel.of("conv2d", "conv2d_backward_input").ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW", "G").buffers("dz", "w", "dx").ints("acc");
  private static final Kernel BACKWARD_WEIGHT = Kernel.of("conv2d", "conv2d_backward_weight").ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW", "G").buffers("dz", "x", "dw").ints("acc");
  private static final Kernel IM2COL = Kernel.of("conv2d", "conv2d_im2col").ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW", "G", "N0", "NC", "g").buffers("x", "col");
  private static final Kernel COL2IM = Kernel.of("conv2d", "conv2d_col2im").ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW", "G", "N0", "NC", "g").buffers("dcol", "dx").ints("acc");
  private static final Kernel BIAS_GRAD = Kernel.of("conv2d", "conv2d_bias_grad").ints("N", "K", "PQ").buffers("dz", "db").ints("acc").groupScratch("scratch");
  private static final Kernel SUM_PARTIALS = Kernel.of("conv2d", "conv2d_sum_partials").ints("SPLITS", "SIZE").buffers("part", "dw").ints("off", "acc");

  private final int sh, sw, ph, pw, dh, dw, groups;
  private final boolean bias;
  private final Algorithm algorithm;
  private final int patchFloats;
  private final FusedActivation activation;

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

  private static int out(int size, int window, int stride, int pad, int dilation) {
    return (size + 2 * pad - dilation * (window - 1) - 1) / stride + 1;
  }

  /** The sizes every loop and kernel needs, for resolved shapes. */
  private record Geometry(int n, int c, int h, int w, int k, int p, int q, int r, int s, int cg, int kg) {
    static Geometry of(Shape x, Shape w, Shape z, int groups) {
      return new Geometry(x.dim(0), x.dim(1), x.dim(2), x.dim(3), w.dim(0), z.dim(2), z.dim(3), w.dim(2), w.dim(3),
          x.dim(1) / groups, w.dim(0) / groups);
    }
  }

  /**
   * Patches of image n, group g: {@code col[(c·R + r)·S + s][p·Q + q]} is the input under tap
   * (r, s) of output (p, q), 0 in the padding; with {@code transposed}, indexed {@code [pq][crs]}.
   */
  private void im2col(Geometry g, float[] x, int n, int group, float[] col, boolean transposed) {
    int pq = g.p * g.q, crs = g.cg * g.r * g.s;
    for (int c = 0; c < g.cg; c++) {
      int plane = (n * g.c + group * g.cg + c) * g.h * g.w;
      for (int r = 0; r < g.r; r++) {
        for (int s = 0; s < g.s; s++) {
          int row = (c * g.r + r) * g.s + s;
          for (int p = 0; p < g.p; p++) {
            int ih = p * sh - ph + r * dh;
            for (int q = 0; q < g.q; q++) {
              int iw = q * sw - pw + s * dw;
              float v = ih < 0 || ih >= g.h || iw < 0 || iw >= g.w ? 0f : x[plane + ih * g.w + iw];
              col[transposed ? (p * g.q + q) * crs + row : row * pq + p * g.q + q] = v;
            }
          }
        }
      }
    }
  }

  /** Adds the patches' gradients {@code col [crs][pq]} back into image n, group g, of dx. */
  private void col2im(Geometry g, float[] col, int n, int group, float[] dx) {
    int pq = g.p * g.q;
    for (int c = 0; c < g.cg; c++) {
      int plane = (n * g.c + group * g.cg + c) * g.h * g.w;
      for (int r = 0; r < g.r; r++) {
        for (int s = 0; s < g.s; s++) {
          int row = ((c * g.r + r) * g.s + s) * pq;
          for (int p = 0; p < g.p; p++) {
            int ih = p * sh - ph + r * dh;
            if (ih < 0 || ih >= g.h) continue;
            for (int q = 0; q < g.q; q++) {
              int iw = q * sw - pw + s * dw;
              if (iw >= 0 && iw < g.w) dx[plane + ih * g.w + iw] += col[row + p * g.q + q];
            }
          }
        }
      }
    }
  }

  /** Images per CPU task: fixed, so that sums over images do not depend on the number of threads. */
  private static final int CHUNK = 8;

  // Scratch kept per thread by the running backend's CPU context (Pass.cpu()):
  /** im2col patches of one image and group. */
  private static final ThreadBuffers.Key PATCHES = new ThreadBuffers.Key("conv2d patches", 1);
  /** One image and group's dz·f', when there is an activation. */
  private static final ThreadBuffers.Key DY = new ThreadBuffers.Key("conv2d dY", 1);
  /** On the calling thread: each chunk's partial weight and bias gradients, summed in chunk order. */
  private static final ThreadBuffers.Key PARTIALS = new ThreadBuffers.Key("conv2d partial gradients", 1);

  /**
   * Per image and group: {@code z = f(W_g · col + bias)}, a GEMM of K/g × P·Q × C/g·R·S whose
   * epilogue adds the bias and applies the activation. Chunks of {@link #CHUNK} images run in
   * parallel, each writing its own images.
   */
  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Geometry g = Geometry.of(in[0].shape, in[1].shape, out.shape, groups);
    float[] x = in[0].data, w = in[1].data, z = out.data, b = bias ? in[2].data : null;
    int pq = g.p * g.q, crs = g.cg * g.r * g.s, chunks = (g.n + CHUNK - 1) / CHUNK;
    CpuContext cpu = pass.cpu();
    IntStream.range(0, chunks).parallel().forEach(chunk -> cpu.serially(() -> {
      float[] col = cpu.buffers(PATCHES).get(0, crs * pq);
      for (int n = chunk * CHUNK; n < Math.min(g.n, (chunk + 1) * CHUNK); n++) {
        for (int group = 0; group < groups; group++) {
          im2col(g, x, n, group, col, false);
          int zOff = (n * g.k + group * g.kg) * pq;
          cpu.gemm(false, false, g.kg, pq, crs, 1f, w, group * g.kg * crs, col, 0, 0f, z, zOff,
              Epilogue.rows(b, group * g.kg, activation));
        }
      }
    }));
  }

  /**
   * Per image and group, with {@code dy = dz·f'} from the output (dz itself without an
   * activation): {@code dW_g += dy_g · colᵀ}, {@code dcol = W_gᵀ · dy_g} added back by col2im,
   * and {@code db += Σ dy}. Chunks of images run in parallel; the weight and bias
   * gradients of each chunk are summed into dw and db in chunk order afterwards.
   */
  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Geometry g = Geometry.of(in[0].shape, in[1].shape, out.shape, groups);
    float[] x = in[0].data, w = in[1].data, z = out.data, dOutData = dOut.data;
    int pq = g.p * g.q, crs = g.cg * g.r * g.s, chunks = (g.n + CHUNK - 1) / CHUNK;
    int wSize = g.k * crs, stride = wSize + g.k;
    boolean dw = dIn[1] != null, db = bias && dIn[2] != null, dx = dIn[0] != null;
    CpuContext cpu = pass.cpu();
    float[] partial = cpu.buffers(PARTIALS).get(0, chunks * stride);
    java.util.Arrays.fill(partial, 0, chunks * stride, 0f);
    IntStream.range(0, chunks).parallel().forEach(chunk -> cpu.serially(() -> {
      float[] col = cpu.buffers(PATCHES).get(0, crs * pq);
      int base = chunk * stride;
      for (int n = chunk * CHUNK; n < Math.min(g.n, (chunk + 1) * CHUNK); n++) {
        for (int group = 0; group < groups; group++) {
          int zOff = (n * g.k + group * g.kg) * pq;
          float[] dz = dOutData;
          int dzOff = zOff;
          if (activation != FusedActivation.NONE) { // this image and group's dy, at offset 0
            dz = cpu.buffers(DY).get(0, g.kg * pq);
            for (int i = 0; i < g.kg * pq; i++) dz[i] = activation.gradient(z[zOff + i], dOutData[zOff + i]);
            dzOff = 0;
          }
          if (db) {
            for (int k = 0; k < g.kg; k++) {
              float sum = 0;
              for (int i = dzOff + k * pq, end = i + pq; i < end; i++) sum += dz[i];
              partial[base + wSize + group * g.kg + k] += sum;
            }
          }
          if (dw) {
            im2col(g, x, n, group, col, true);
            cpu.gemm(false, false, g.kg, crs, pq, 1f, dz, dzOff, col, 0, 1f, partial, base + group * g.kg * crs);
          }
          if (dx) {
            cpu.gemm(true, false, crs, pq, g.kg, 1f, w, group * g.kg * crs, dz, dzOff, 0f, col, 0);
            col2im(g, col, n, group, dIn[0].data);
          }
        }
      }
    }));
    for (int chunk = 0; chunk < chunks; chunk++) {
      int base = chunk * stride;
      if (dw) for (int i = 0; i < wSize; i++) dIn[1].data[i] += partial[base + i];
      if (db) for (int k = 0; k < g.k; k++) dIn[2].data[k] += partial[base + wSize + k];
    }
  }

  private Object[] geometryArgs(Launcher l) {
    Geometry g = Geometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    return new Object[] {g.n, g.c, g.h, g.w, g.k, g.p, g.q, g.r, g.s, sh, sw, ph, pw, dh, dw, groups};
  }

  private static Object[] concat(Object[] head, Object... tail) {
    Object[] all = java.util.Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
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

  /**
   * How the im2col form splits a batch: images per chunk, images per partial weight gradient, and
   * at most how many partials a chunk makes (at any batch up to this one).
   */
  private record Chunking(int images, int perSplit, int maxSplits) {
    static Chunking of(Geometry g, int batch, int patchFloats) {
      int crs = g.cg * g.r * g.s, pq = g.p * g.q;
      int images = (int) Math.max(1, Math.min(batch, patchFloats / ((long) crs * pq)));
      long tiles = (long) ((g.kg + 63) / 64) * ((crs + 63) / 64);
      int maxSplits = (int) Math.min(images, Math.max(1, (WEIGHT_GRAD_GROUPS + tiles - 1) / tiles));
      return new Chunking(images, (images + maxSplits - 1) / maxSplits, maxSplits);
    }
  }

  /**
   * Forward: the im2col form's patch matrix, for the largest batch. Backward: the patch matrix
   * and the partial weight gradients, then, with an activation, dz·f' over the whole output (the
   * only one in the direct form).
   */
  @Override
  public List<Shape> scratch(Shape[] in, boolean backward) {
    List<Shape> dy = !backward || activation == FusedActivation.NONE ? List.of()
        : List.of(Shape.of(in[0].dim(0), in[1].dim(0), out(in[0].dim(2), in[1].dim(2), sh, ph, dh),
            out(in[0].dim(3), in[1].dim(3), sw, pw, dw)));
    if (!usesIm2col(in[0], in[1])) return dy;
    int cg = in[0].dim(1) / groups, k = in[1].dim(0), r = in[1].dim(2), s = in[1].dim(3);
    int p = out(in[0].dim(2), r, sh, ph, dh), q = out(in[0].dim(3), s, sw, pw, dw);
    Geometry g = new Geometry(in[0].dim(0), in[0].dim(1), in[0].dim(2), in[0].dim(3), k, p, q, r, s, cg, k / groups);
    Chunking c = Chunking.of(g, g.n, patchFloats);
    long crs = (long) cg * r * s;
    Shape patches = Shape.of((int) Math.min(Integer.MAX_VALUE, crs * c.images * p * q));
    if (!backward) return List.of(patches);
    List<Shape> all = new java.util.ArrayList<>(List.of(patches,
        Shape.of((int) Math.min(Integer.MAX_VALUE, c.maxSplits > 1 ? (long) c.maxSplits * g.kg * crs : 1))));
    all.addAll(dy);
    return List.copyOf(all);
  }

  @Override
  public void forwardKernels(Launcher l) {
    Object[] geo = geometryArgs(l);
    if (!usesIm2col(l.inShape(0), l.inShape(1))) {
      l.launch(bias ? FORWARD_BIAS : FORWARD, over(l.outShape().size(0)),
          bias ? concat(geo, l.in(0), l.in(1), l.in(2), l.out(), activation.code())
              : concat(geo, l.in(0), l.in(1), l.out(), activation.code()));
      return;
    }
    Geometry g = Geometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    int crs = g.cg * g.r * g.s, pq = g.p * g.q;
    Chunking chunking = Chunking.of(g, g.n, patchFloats);
    for (int n0 = 0; n0 < g.n; n0 += chunking.images) {
      int nc = Math.min(chunking.images, g.n - n0);
      for (int group = 0; group < groups; group++) {
        im2col(l, geo, n0, nc, group);
        l.gemm(nc, 1, g.kg, pq, crs, 1f, Matrix.of(l.in(1), crs).plus(group * g.kg * crs),
            Matrix.of(l.scratch(0), nc * pq).everyBatch(pq), 0f,
            Matrix.of(l.out(), pq).plus((n0 * g.k + group * g.kg) * pq).everyBatch(g.k * pq),
            GemmEpilogue.rows(bias ? l.in(2) : null, group * g.kg, activation));
      }
    }
  }

  private void im2col(Launcher l, Object[] geo, int n0, int nc, int group) {
    Geometry g = Geometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    int columns = nc * g.p * g.q;
    l.launch(IM2COL, over(columns, g.cg * g.r * g.s).inGroupsOf(groupShape(l, columns)),
        concat(geo, n0, nc, group, l.in(0), l.scratch(0)));
  }

  /**
   * A 2-D work-group of 64 work-items (fewer where the device allows fewer), narrowed along
   * dimension 0 to rows of {@code width}.
   */
  private static int[] groupShape(Launcher l, int width) {
    int size = Integer.highestOneBit(Math.max(1, Math.min(64, l.maxWorkGroupSize())));
    int x = width <= 1 ? 1 : Math.min(size, Integer.highestOneBit(width - 1) << 1);
    return new int[] {x, size / x};
  }

  @Override
  public void backwardKernels(Launcher l) {
    Object[] geo = geometryArgs(l);
    Geometry g = Geometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    int pq = g.p * g.q;
    boolean im2col = usesIm2col(l.inShape(0), l.inShape(1));
    Launcher.Buffer dy = l.dOut();
    if (activation != FusedActivation.NONE) { // dy = dz·f' from the output, in scratch after im2col's
      dy = l.scratch(im2col ? 2 : 0);
      int size = l.outShape().size(0);
      l.launch(ACTIVATION_GRAD, over(size), size, activation.code(), l.out(), l.dOut(), dy);
    }
    if (bias && l.dIn(2) != null) {
      l.launchGroups(BIAS_GRAD, g.k, g.n, g.k, pq, dy, l.dIn(2), l.accumulate(2));
    }
    if (!im2col) {
      if (l.dIn(0) != null) {
        l.launch(BACKWARD_INPUT, over(l.inShape(0).size(0)),
            concat(geo, dy, l.in(1), l.dIn(0), l.accumulate(0)));
      }
      if (l.dIn(1) != null) {
        l.launch(BACKWARD_WEIGHT, over(l.inShape(1).size(0)),
            concat(geo, dy, l.in(0), l.dIn(1), l.accumulate(1)));
      }
      return;
    }
    int crs = g.cg * g.r * g.s;
    int accX = l.dIn(0) != null ? l.accumulate(0) : 0, accW = l.dIn(1) != null ? l.accumulate(1) : 0;
    Chunking chunking = Chunking.of(g, g.n, patchFloats);
    for (int n0 = 0; n0 < g.n; n0 += chunking.images) {
      int nc = Math.min(chunking.images, g.n - n0);
      int cols = nc * pq;
      for (int group = 0; group < groups; group++) {
        Matrix dz = Matrix.of(dy, pq).plus((n0 * g.k + group * g.kg) * pq).everyBatch(g.k * pq);
        int wOff = group * g.kg * crs;
        if (l.dIn(1) != null) {
          // dW_g (+)= Σ over the chunk's images of dz_j · col_jᵀ, in partial sums over slices of
          // the chunk when the product alone would leave the device idle.
          im2col(l, geo, n0, nc, group);
          Matrix patchesT = Matrix.of(l.scratch(0), cols).t().everyBatch(pq);
          int perSplit = Math.min(nc, chunking.perSplit), splits = (nc + perSplit - 1) / perSplit;
          float beta = n0 == 0 ? accW : 1;
          if (splits == 1) {
            l.gemm(nc, nc, g.kg, crs, pq, 1f, dz, patchesT, beta, Matrix.of(l.dIn(1), crs).plus(wOff));
          } else {
            l.gemm(nc, perSplit, g.kg, crs, pq, 1f, dz, patchesT, 0f,
                Matrix.of(l.scratch(1), crs).everyBatch(g.kg * crs));
            l.launch(SUM_PARTIALS, over(g.kg * crs), splits, g.kg * crs, l.scratch(1),
                l.dIn(1), wOff, (int) beta);
          }
        }
        if (l.dIn(0) != null) {
          // dcol_j = W_gᵀ · dz_j into the patch scratch, then gathered back onto dx.
          l.gemm(nc, 1, crs, pq, g.kg, 1f, Matrix.of(l.in(1), crs).plus(wOff).t(), dz, 0f,
              Matrix.of(l.scratch(0), cols).everyBatch(pq));
          l.launch(COL2IM, over(nc * g.cg * g.h * g.w),
              concat(geo, n0, nc, group, l.scratch(0), l.dIn(0), accX));
        }
      }
    }
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
