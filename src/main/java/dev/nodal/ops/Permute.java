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
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Reorders the dimensions of its input, as PyTorch's {@code x.permute(axes)} followed by
 * {@code contiguous()}: output dimension k is input dimension {@code axes[k]}, so
 * {@code z[i_0, …, i_{r−1}] = x[j]} with {@code j[axes[k]] = i_k}. {@link #transpose} swaps two
 * dimensions, as {@code x.transpose(dim0, dim1)}. Backward applies the inverse permutation to the
 * gradient, adding it into the input's. An input with a {@link Shape#BATCH} dimension must keep it
 * first ({@code axes[0] == 0}); at most {@value #MAX_RANK} dimensions.
 *
 * <p>The output is a copy (one work-item per element on a device), never a view of the input:
 * whether a permutation keeps the values in order depends on the input's shape, which
 * {@link Op#isView()} cannot see.
 */
public final class Permute implements Op {
  /** The most dimensions a permutation handles: the device kernel takes each as an argument. */
  public static final int MAX_RANK = 6;

  private static final Kernel FORWARD = Kernel.of("permute", "permute_forward")
      .ints("n", "d0", "d1", "d2", "d3", "d4", "d5", "s0", "s1", "s2", "s3", "s4", "s5").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("permute", "permute_backward")
      .ints("n", "d0", "d1", "d2", "d3", "d4", "d5", "s0", "s1", "s2", "s3", "s4", "s5").buffers("dz", "dx").ints("acc");

  private final int[] axes;

  /**
   * Output dimension k is input dimension {@code axes[k]}; {@code axes} holds each of
   * {@code 0 … r−1} once, for an input of rank r (1 to {@value #MAX_RANK}).
   */
  public Permute(int... axes) {
    if (axes.length < 1 || axes.length > MAX_RANK) {
      throw new IllegalArgumentException("permute: axes " + Arrays.toString(axes) + " must name 1 to " + MAX_RANK
          + " dimensions");
    }
    boolean[] seen = new boolean[axes.length];
    for (int a : axes) {
      if (a < 0 || a >= axes.length || seen[a]) {
        throw new IllegalArgumentException("permute: axes " + Arrays.toString(axes) + " are not a permutation of 0.."
            + (axes.length - 1));
      }
      seen[a] = true;
    }
    this.axes = axes.clone();
  }

  /**
   * The swap of dimensions {@code dim0} and {@code dim1} of an input of rank {@code rank}, as
   * PyTorch's {@code x.transpose(dim0, dim1)}; a negative dimension counts from the end.
   */
  public static Permute transpose(int rank, int dim0, int dim1) {
    if (rank < 1 || rank > MAX_RANK) {
      throw new IllegalArgumentException("transpose: rank " + rank + " must be 1 to " + MAX_RANK);
    }
    int a = Axes.resolve(dim0, rank), b = Axes.resolve(dim1, rank);
    if (a < 0 || a >= rank || b < 0 || b >= rank) {
      throw new IllegalArgumentException("transpose: dimensions " + dim0 + " and " + dim1 + " must lie in [" + -rank + ", "
          + (rank - 1) + "] for rank " + rank);
    }
    int[] axes = new int[rank];
    for (int k = 0; k < rank; k++) axes[k] = k;
    axes[a] = b;
    axes[b] = a;
    return new Permute(axes);
  }

  /** The graph file's attributes of a permute: its axes. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.integers("axes", null, 0, MAX_RANK - 1));

  static Permute fromAttributes(AttributeSchema.Values a) {
    return new Permute(a.integers("axes").stream().mapToInt(Integer::intValue).toArray());
  }

  @Override
  public String kind() {
    return "permute";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Map<String, Object> attributes() {
    return Map.of("axes", Arrays.stream(axes).boxed().toList());
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape x = c.in(0);
    if (x.rank() != axes.length) {
      throw c.error("input '%s' %s has rank %d; axes %s permute %d dimensions", c.name(0), x, x.rank(),
          Arrays.toString(axes), axes.length);
    }
    if (x.hasBatch() && axes[0] != 0) {
      throw c.error("input '%s' %s has a batch dimension, which must stay first: axes %s move it", c.name(0), x,
          Arrays.toString(axes));
    }
    int[] out = new int[axes.length];
    for (int k = 0; k < axes.length; k++) out[k] = x.dim(axes[k]);
    return Shape.of(out);
  }

  /**
   * The stride in the input of a step along each output dimension, padded in front to
   * {@value #MAX_RANK} dimensions with stride 0 (the padding dimensions have size 1).
   */
  private int[] strides(Shape in) {
    int[] inStride = new int[axes.length];
    for (int k = axes.length - 1, s = 1; k >= 0; k--) {
      inStride[k] = s;
      s *= in.dim(k);
    }
    int[] out = new int[MAX_RANK];
    for (int k = 0; k < axes.length; k++) out[MAX_RANK - axes.length + k] = inStride[axes[k]];
    return out;
  }

  /** The output's dimensions, padded in front to {@value #MAX_RANK} with ones. */
  private static int[] dims(Shape out) {
    int[] d = new int[MAX_RANK];
    Arrays.fill(d, 1);
    for (int k = 0; k < out.rank(); k++) d[MAX_RANK - out.rank() + k] = out.dim(k);
    return d;
  }

  /** What {@link #walk} does with each element. */
  private enum Walk {
    /** Forward: {@code to[e] = from[src]}. */
    GATHER,
    /** Backward, setting the gradient: {@code to[src] = from[e]}. */
    SCATTER,
    /** Backward, adding to the gradient: {@code to[src] += from[e]}. */
    ADD
  }

  /**
   * Walks the output in order, a row of its last dimension at a time, beside each element's input
   * index {@code src}, moving each element as {@code how} says. Where the last axis stays last
   * (heads split off a sequence), each row is a run of the input too.
   */
  private void walk(Shape in, Shape out, float[] from, float[] to, Walk how) {
    int[] d = dims(out), s = strides(in), i = new int[MAX_RANK];
    int len = d[MAX_RANK - 1], step = s[MAX_RANK - 1];
    for (int e = 0, n = out.size(0), src = 0; e < n; e += len) {
      switch (how) {
        case GATHER -> {
          if (step == 1) System.arraycopy(from, src, to, e, len);
          else for (int j = 0; j < len; j++) to[e + j] = from[src + j * step];
        }
        case SCATTER -> {
          if (step == 1) System.arraycopy(from, e, to, src, len);
          else for (int j = 0; j < len; j++) to[src + j * step] = from[e + j];
        }
        case ADD -> {
          if (step == 1) for (int j = 0; j < len; j++) to[src + j] += from[e + j];
          else for (int j = 0; j < len; j++) to[src + j * step] += from[e + j];
        }
      }
      for (int k = MAX_RANK - 2; k >= 0; k--) {
        src += s[k];
        if (++i[k] < d[k]) break;
        src -= s[k] * d[k];
        i[k] = 0;
      }
    }
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    walk(in[0].shape, out.shape, in[0].data, out.data, Walk.GATHER);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    walk(in[0].shape, out.shape, dOut.data, dIn[0].data, pass.overwrites(0) ? Walk.SCATTER : Walk.ADD);
  }

  /** A permutation reaches every element of the input: backward can set its gradient whole. */
  @Override
  public boolean overwritesGradients() {
    return true;
  }

  @Override
  public void forwardKernels(Launcher k) {
    k.launch(FORWARD, over(k.outShape().size(0)), arguments(k, k.in(0), k.out()));
  }

  @Override
  public void backwardKernels(Launcher k) {
    if (k.dIn(0) == null) return;
    k.launch(BACKWARD, over(k.outShape().size(0)), arguments(k, k.dOut(), k.dIn(0), k.accumulate(0)));
  }

  /** {@code n, d0..d5, s0..s5}, then the rest of the kernel's arguments. */
  private Object[] arguments(Launcher k, Object... rest) {
    int[] d = dims(k.outShape()), s = strides(k.inShape(0));
    Object[] args = new Object[1 + 2 * MAX_RANK + rest.length];
    args[0] = k.outShape().size(0);
    for (int i = 0; i < MAX_RANK; i++) {
      args[1 + i] = d[i];
      args[1 + MAX_RANK + i] = s[i];
    }
    System.arraycopy(rest, 0, args, 1 + 2 * MAX_RANK, rest.length);
    return args;
  }
}
