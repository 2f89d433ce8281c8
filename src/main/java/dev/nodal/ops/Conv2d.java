package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Blas;
import dev.nodal.tensor.CpuTensor;
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
 * patches (im2col, in per-thread scratch) and runs chunks of images in parallel; the OpenCL kernels work in direct form, one work-item
 * per element written, with compensated sums.
 */
public final class Conv2d implements Op {
  private final int sh, sw, ph, pw, dh, dw, groups;
  private final boolean bias;

  private Conv2d(Builder b) {
    this.sh = b.sh;
    this.sw = b.sw;
    this.ph = b.ph;
    this.pw = b.pw;
    this.dh = b.dh;
    this.dw = b.dw;
    this.groups = b.groups;
    this.bias = b.bias;
    if (sh < 1 || sw < 1 || dh < 1 || dw < 1 || ph < 0 || pw < 0 || groups < 1) {
      throw new IllegalArgumentException("conv2d: stride and dilation must be >= 1, padding >= 0, groups >= 1; got "
          + attributes());
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

    public Conv2d build() {
      return new Conv2d(this);
    }
  }

  /** The op a graph file's attributes describe. */
  static Conv2d fromAttributes(Map<String, Object> a) {
    java.util.function.ToIntBiFunction<String, Integer> n = (key, fallback) ->
        (int) Attributes.number(a, "conv2d", key, fallback);
    return builder().stride(n.applyAsInt("stride_h", 1), n.applyAsInt("stride_w", 1))
        .padding(n.applyAsInt("pad_h", 0), n.applyAsInt("pad_w", 0))
        .dilation(n.applyAsInt("dilation_h", 1), n.applyAsInt("dilation_w", 1)).groups(n.applyAsInt("groups", 1))
        .bias(!Boolean.FALSE.equals(a.get("bias")) && !"false".equals(String.valueOf(a.get("bias")))).build();
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

  /** Per thread: im2col patches of one image and group. */
  private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

  private static float[] scratch(int size) {
    float[][] s = SCRATCH.get();
    if (s[0].length < size) s[0] = new float[size];
    return s[0];
  }

  /** Per calling thread: each chunk's partial weight and bias gradients, summed in chunk order. */
  private static final ThreadLocal<float[][]> PARTIALS = ThreadLocal.withInitial(() -> new float[1][0]);

  /**
   * Per image and group: {@code z = W_g · col} (+ bias), a GEMM of K/g × P·Q × C/g·R·S. Chunks of
   * {@link #CHUNK} images run in parallel, each writing its own images.
   */
  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Geometry g = Geometry.of(in[0].shape, in[1].shape, out.shape, groups);
    float[] x = in[0].data, w = in[1].data, z = out.data, b = bias ? in[2].data : null;
    int pq = g.p * g.q, crs = g.cg * g.r * g.s, chunks = (g.n + CHUNK - 1) / CHUNK;
    IntStream.range(0, chunks).parallel().forEach(chunk -> {
      float[] col = scratch(crs * pq);
      for (int n = chunk * CHUNK; n < Math.min(g.n, (chunk + 1) * CHUNK); n++) {
        for (int group = 0; group < groups; group++) {
          im2col(g, x, n, group, col, false);
          int zOff = (n * g.k + group * g.kg) * pq;
          Blas.gemm(false, false, g.kg, pq, crs, 1f, w, group * g.kg * crs, col, 0, 0f, z, zOff);
          if (b == null) continue;
          for (int k = 0; k < g.kg; k++) {
            float bk = b[group * g.kg + k];
            for (int i = zOff + k * pq, end = i + pq; i < end; i++) z[i] += bk;
          }
        }
      }
    });
  }

  /**
   * Per image and group: {@code dW_g += dz_g · colᵀ}, {@code dcol = W_gᵀ · dz_g} added back by
   * col2im, and {@code db += Σ dz}. Chunks of images run in parallel; the weight and bias
   * gradients of each chunk are summed into dw and db in chunk order afterwards.
   */
  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Geometry g = Geometry.of(in[0].shape, in[1].shape, out.shape, groups);
    float[] x = in[0].data, w = in[1].data, dz = dOut.data;
    int pq = g.p * g.q, crs = g.cg * g.r * g.s, chunks = (g.n + CHUNK - 1) / CHUNK;
    int wSize = g.k * crs, stride = wSize + g.k;
    boolean dw = dIn[1] != null, db = bias && dIn[2] != null, dx = dIn[0] != null;
    float[][] holder = PARTIALS.get();
    if (holder[0].length < chunks * stride) holder[0] = new float[chunks * stride];
    float[] partial = holder[0];
    java.util.Arrays.fill(partial, 0, chunks * stride, 0f);
    IntStream.range(0, chunks).parallel().forEach(chunk -> {
      float[] col = scratch(crs * pq);
      int base = chunk * stride;
      for (int n = chunk * CHUNK; n < Math.min(g.n, (chunk + 1) * CHUNK); n++) {
        for (int group = 0; group < groups; group++) {
          int zOff = (n * g.k + group * g.kg) * pq;
          if (db) {
            for (int k = 0; k < g.kg; k++) {
              float sum = 0;
              for (int i = zOff + k * pq, end = i + pq; i < end; i++) sum += dz[i];
              partial[base + wSize + group * g.kg + k] += sum;
            }
          }
          if (dw) {
            im2col(g, x, n, group, col, true);
            Blas.gemm(false, false, g.kg, crs, pq, 1f, dz, zOff, col, 0, 1f, partial, base + group * g.kg * crs);
          }
          if (dx) {
            Blas.gemm(true, false, crs, pq, g.kg, 1f, w, group * g.kg * crs, dz, zOff, 0f, col, 0);
            col2im(g, col, n, group, dIn[0].data);
          }
        }
      }
    });
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

  @Override
  public void forwardKernels(Launcher l) {
    Object[] geo = geometryArgs(l);
    l.launch("conv2d.cl", bias ? "conv2d_forward_bias" : "conv2d_forward", over(l.outShape().size(0)),
        bias ? concat(geo, l.in(0), l.in(1), l.in(2), l.out()) : concat(geo, l.in(0), l.in(1), l.out()));
  }

  @Override
  public void backwardKernels(Launcher l) {
    Object[] geo = geometryArgs(l);
    if (l.dIn(0) != null) {
      l.launch("conv2d.cl", "conv2d_backward_input", over(l.inShape(0).size(0)),
          concat(geo, l.dOut(), l.in(1), l.dIn(0), l.accumulate(0)));
    }
    if (l.dIn(1) != null) {
      l.launch("conv2d.cl", "conv2d_backward_weight", over(l.inShape(1).size(0)),
          concat(geo, l.dOut(), l.in(0), l.dIn(1), l.accumulate(1)));
    }
    if (bias && l.dIn(2) != null) {
      l.launch("conv2d.cl", "conv2d_backward_bias", over(l.inShape(2).size(0)),
          concat(geo, l.dOut(), l.dIn(2), l.accumulate(2)));
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
