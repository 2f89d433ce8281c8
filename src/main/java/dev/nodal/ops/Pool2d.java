package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Max or average pooling of NCHW images over k×k windows, as PyTorch's {@code max_pool2d} and
 * {@code avg_pool2d} (stride defaulting to the window, zero padding that max pooling never picks
 * and average pooling counts, floor rounding): output {@code [N, C, P, Q]} with
 * {@code P = (H + 2·pad − k)/stride + 1}. A NaN in a window is its maximum, as in PyTorch.
 * Backward: max sends each output's gradient to the first maximum of its window (its last NaN,
 * if any, as PyTorch), average spreads it evenly over the window; both recompute the windows, so no index is
 * saved.
 */
public final class Pool2d implements Op {
  private static final Kernel FORWARD = Kernel.of("pool2d", "pool2d_forward")
      .ints("PLANES", "H", "W", "P", "Q", "K", "ST", "PD", "MAX").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("pool2d", "pool2d_backward")
      .ints("PLANES", "H", "W", "P", "Q", "K", "ST", "PD", "MAX").buffers("x", "dz", "dx").ints("acc");

  private final boolean max;
  private final int k, stride, pad;

  private Pool2d(boolean max, int k, int stride, int pad) {
    if (k < 1 || stride < 1 || pad < 0 || pad > k / 2) {
      throw new IllegalArgumentException((max ? "max" : "avg") + "_pool2d: need kernel >= 1, stride >= 1 and "
          + "0 <= padding <= kernel/2; got kernel " + k + ", stride " + stride + ", padding " + pad);
    }
    this.max = max;
    this.k = k;
    this.stride = stride;
    this.pad = pad;
  }

  public static Pool2d max(int kernel, int stride, int padding) {
    return new Pool2d(true, kernel, stride, padding);
  }

  public static Pool2d avg(int kernel, int stride, int padding) {
    return new Pool2d(false, kernel, stride, padding);
  }

  /** The graph file's attributes of a pooling node; the stride is the window's when left out. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.integer("kernel", null, 1, Integer.MAX_VALUE),
      AttributeSchema.optionalInteger("stride", 1, Integer.MAX_VALUE),
      AttributeSchema.integer("padding", 0, 0, Integer.MAX_VALUE));

  static Pool2d fromAttributes(boolean max, AttributeSchema.Values a) {
    int kernel = a.integer("kernel");
    return new Pool2d(max, kernel, a.integer("stride", kernel), a.integer("padding"));
  }

  @Override
  public String kind() {
    return max ? "max_pool2d" : "avg_pool2d";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Map<String, Object> attributes() {
    return Map.of("kernel", k, "stride", stride, "padding", pad);
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 4, "NCHW images");
    Shape x = c.in(0);
    int p = (x.dim(2) + 2 * pad - k) / stride + 1, q = (x.dim(3) + 2 * pad - k) / stride + 1;
    if (x.dim(2) + 2 * pad < k || x.dim(3) + 2 * pad < k) {
      throw c.error("a %dx%d window does not fit input '%s' %s with padding %d", k, k, c.name(0), x, pad);
    }
    return Shape.of(x.dim(0), x.dim(1), p, q);
  }

  /**
   * True when {@code v} takes the place of {@code best} as a window's maximum: when it is larger,
   * or when it is NaN (PyTorch's rule: a NaN is the maximum, and a later NaN takes over).
   */
  private static boolean beats(float v, float best) {
    return v > best || v != v;
  }

  /**
   * The index in plane {@code off} of the window's maximum at output (p, q): its last NaN, else
   * its first largest value; -1 when it holds only -inf (PyTorch would credit the first element). The window is clipped to the image once,
   * so the loops test nothing.
   */
  private int maxAt(float[] x, int off, int h, int w, int p, int q) {
    if (k == 2 && stride == 2 && pad == 0) return max2x2(x, off, w, p, q);
    int r0 = Math.max(0, p * stride - pad), r1 = Math.min(h, p * stride - pad + k);
    int s0 = Math.max(0, q * stride - pad), s1 = Math.min(w, q * stride - pad + k);
    float best = Float.NEGATIVE_INFINITY;
    int at = -1;
    for (int ih = r0; ih < r1; ih++) {
      for (int iw = s0, i = off + ih * w + s0; iw < s1; iw++, i++) {
        if (beats(x[i], best)) {
          best = x[i];
          at = ih * w + iw;
        }
      }
    }
    return at;
  }

  /**
   * The common 2×2, stride 2 window without padding, unrolled; the same choice as above, made
   * without a branch per element: the maximum by {@link Math#max}, then the first element equal to
   * it by conditional moves (scanned from the last, so the first match is left). A comparison per
   * element that takes a branch mispredicts on about every other window: the pooling's backward
   * was 13% of the cnn step.
   */
  static int max2x2(float[] x, int off, int w, int p, int q) {
    int i = 2 * p * w + 2 * q;
    float a = x[off + i], b = x[off + i + 1], c = x[off + i + w], d = x[off + i + w + 1];
    float m = Math.max(Math.max(a, b), Math.max(c, d));
    if (m != m) return d != d ? i + w + 1 : c != c ? i + w : b != b ? i + 1 : i; // the last NaN: rare
    int at = d == m ? i + w + 1 : -1;
    at = c == m ? i + w : at;
    at = b == m ? i + 1 : at;
    at = a == m ? i : at;
    return m == Float.NEGATIVE_INFINITY ? -1 : at;
  }

  /**
   * The window's maximum at output (p, q) of plane {@code off}: NaN if it holds one, -inf if it
   * holds nothing larger (of -0 and +0, +0, where the arg-max may pick a -0 first: equal values). {@link Math#max} compiles without branches, where a comparison per
   * element would mispredict on about every window (measured: 12 ms against 1.1 for the first
   * pooling of the cnn at batch 128, on one thread).
   */
  private float maxValue(float[] x, int off, int h, int w, int p, int q) {
    if (k == 2 && stride == 2 && pad == 0) {
      int i = off + 2 * p * w + 2 * q;
      return Math.max(Math.max(x[i], x[i + 1]), Math.max(x[i + w], x[i + w + 1]));
    }
    int r0 = Math.max(0, p * stride - pad), r1 = Math.min(h, p * stride - pad + k);
    int s0 = Math.max(0, q * stride - pad), s1 = Math.min(w, q * stride - pad + k);
    float best = Float.NEGATIVE_INFINITY;
    for (int ih = r0; ih < r1; ih++) {
      for (int i = off + ih * w + s0, end = off + ih * w + s1; i < end; i++) best = Math.max(best, x[i]);
    }
    return best;
  }

  /** The mean of the window at output (p, q) of plane {@code off}, padding counted as zeros. */
  private float mean(float[] x, int off, int h, int w, int p, int q) {
    int r0 = Math.max(0, p * stride - pad), r1 = Math.min(h, p * stride - pad + k);
    int s0 = Math.max(0, q * stride - pad), s1 = Math.min(w, q * stride - pad + k);
    double sum = 0;
    for (int ih = r0; ih < r1; ih++) for (int i = off + ih * w + s0, end = off + ih * w + s1; i < end; i++) sum += x[i];
    return (float) (sum / (k * k));
  }

  /** Planes (images × channels) run in parallel; each writes only its own plane. */
  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int planes = in[0].dim(0) * in[0].dim(1), h = in[0].dim(2), w = in[0].dim(3), pp = out.dim(2), qq = out.dim(3);
    float[] x = in[0].data, z = out.data;
    IntStream.range(0, planes).parallel().forEach(pl -> {
      int off = pl * h * w;
      for (int p = 0; p < pp; p++) {
        for (int q = 0; q < qq; q++) {
          z[(pl * pp + p) * qq + q] = max ? maxValue(x, off, h, w, p, q) : mean(x, off, h, w, p, q);
        }
      }
    });
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int planes = in[0].dim(0) * in[0].dim(1), h = in[0].dim(2), w = in[0].dim(3), pp = out.dim(2), qq = out.dim(3);
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    IntStream.range(0, planes).parallel().forEach(pl -> {
      int off = pl * h * w;
      for (int p = 0; p < pp; p++) {
        for (int q = 0; q < qq; q++) {
          float d = dz[(pl * pp + p) * qq + q];
          if (max) {
            int at = maxAt(x, off, h, w, p, q);
            if (at >= 0) dx[off + at] += d; // a window of -inf has no maximum to credit
            continue;
          }
          int r0 = Math.max(0, p * stride - pad), r1 = Math.min(h, p * stride - pad + k);
          int s0 = Math.max(0, q * stride - pad), s1 = Math.min(w, q * stride - pad + k);
          for (int ih = r0; ih < r1; ih++) for (int iw = s0; iw < s1; iw++) dx[off + ih * w + iw] += d / (k * k);
        }
      }
    });
  }

  private Object[] args(Launcher l, Object... buffers) {
    Shape x = l.inShape(0), z = l.outShape();
    Object[] head = {x.dim(0) * x.dim(1), x.dim(2), x.dim(3), z.dim(2), z.dim(3), k, stride, pad, max ? 1 : 0};
    Object[] all = java.util.Arrays.copyOf(head, head.length + buffers.length);
    System.arraycopy(buffers, 0, all, head.length, buffers.length);
    return all;
  }

  @Override
  public void forwardKernels(Launcher l) {
    l.launch(FORWARD, over(l.outShape().size(0)), args(l, l.in(0), l.out()));
  }

  @Override
  public void backwardKernels(Launcher l) {
    l.launch(BACKWARD, over(l.inShape(0).size(0)), args(l, l.in(0), l.dOut(), l.dIn(0),
        l.accumulate(0)));
  }

  /** Average pooling sums k² values. */
  @Override
  public int reductionLength(Shape[] in) {
    return max ? 1 : k * k;
  }
}
