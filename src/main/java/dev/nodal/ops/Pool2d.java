package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

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
 * {@code P = (H + 2·pad − k)/stride + 1}. Backward: max sends each output's gradient to the first
 * maximum of its window, average spreads it evenly over the window; both gather per input element,
 * recomputing the windows, so no index is saved.
 */
public final class Pool2d implements Op {
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

  static Pool2d fromAttributes(boolean max, Map<String, Object> a) {
    int kernel = num(a, "kernel", -1);
    return new Pool2d(max, kernel, num(a, "stride", kernel), num(a, "padding", 0));
  }

  private static int num(Map<String, Object> a, String key, int fallback) {
    Object v = a.get(key);
    if (v == null && fallback >= 0) return fallback;
    if (v instanceof Number n) return n.intValue();
    throw new IllegalArgumentException("pool2d: attribute '" + key + "' " + (v == null ? "is missing" : "is not a number: " + v));
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
   * The window's value at output (p, q) of plane {@code off}: its maximum or mean; for max, its
   * index in {@code at}. The window is clipped to the image once, so the loops test nothing.
   */
  private float window(float[] x, int off, int h, int w, int p, int q, int[] at) {
    if (max && k == 2 && stride == 2 && pad == 0) return max2x2(x, off, w, p, q, at);
    int r0 = Math.max(0, p * stride - pad), r1 = Math.min(h, p * stride - pad + k);
    int s0 = Math.max(0, q * stride - pad), s1 = Math.min(w, q * stride - pad + k);
    if (max) {
      float best = Float.NEGATIVE_INFINITY;
      for (int ih = r0; ih < r1; ih++) {
        for (int iw = s0, i = off + ih * w + s0; iw < s1; iw++, i++) {
          if (x[i] > best) {
            best = x[i];
            at[0] = ih * w + iw;
          }
        }
      }
      return best;
    }
    double sum = 0;
    for (int ih = r0; ih < r1; ih++) for (int i = off + ih * w + s0, end = off + ih * w + s1; i < end; i++) sum += x[i];
    return (float) (sum / (k * k));
  }

  /** The common 2×2, stride 2 window without padding, unrolled; ties go to the first, as above. */
  private static float max2x2(float[] x, int off, int w, int p, int q, int[] at) {
    int i = 2 * p * w + 2 * q;
    float best = Float.NEGATIVE_INFINITY;
    int where = at[0];
    if (x[off + i] > best) {
      best = x[off + i];
      where = i;
    }
    if (x[off + i + 1] > best) {
      best = x[off + i + 1];
      where = i + 1;
    }
    if (x[off + i + w] > best) {
      best = x[off + i + w];
      where = i + w;
    }
    if (x[off + i + w + 1] > best) {
      best = x[off + i + w + 1];
      where = i + w + 1;
    }
    at[0] = where;
    return best;
  }

  /** Planes (images × channels) run in parallel; each writes only its own plane. */
  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int planes = in[0].dim(0) * in[0].dim(1), h = in[0].dim(2), w = in[0].dim(3), pp = out.dim(2), qq = out.dim(3);
    float[] x = in[0].data, z = out.data;
    IntStream.range(0, planes).parallel().forEach(pl -> {
      int[] at = new int[1];
      for (int p = 0; p < pp; p++) {
        for (int q = 0; q < qq; q++) z[(pl * pp + p) * qq + q] = window(x, pl * h * w, h, w, p, q, at);
      }
    });
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int planes = in[0].dim(0) * in[0].dim(1), h = in[0].dim(2), w = in[0].dim(3), pp = out.dim(2), qq = out.dim(3);
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    IntStream.range(0, planes).parallel().forEach(pl -> {
      int[] at = new int[1];
      int off = pl * h * w;
      for (int p = 0; p < pp; p++) {
        for (int q = 0; q < qq; q++) {
          float d = dz[(pl * pp + p) * qq + q];
          if (max) {
            at[0] = -1;
            window(x, off, h, w, p, q, at);
            if (at[0] >= 0) dx[off + at[0]] += d; // a window of NaN or -inf has no maximum to credit
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
    l.launch("pool2d.cl", "pool2d_forward", over(l.outShape().size(0)), args(l, l.in(0), l.out()));
  }

  @Override
  public void backwardKernels(Launcher l) {
    l.launch("pool2d.cl", "pool2d_backward", over(l.inShape(0).size(0)), args(l, l.in(0), l.dOut(), l.dIn(0),
        l.accumulate(0)));
  }

  /** Average pooling sums k² values. */
  @Override
  public int reductionLength(Shape[] in) {
    return max ? 1 : k * k;
  }
}
