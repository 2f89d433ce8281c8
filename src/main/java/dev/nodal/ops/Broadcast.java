package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * What the elementwise arithmetic of two tensors shares ({@link Add}, {@link Sub}, {@link Mul},
 * {@link Div}): PyTorch's broadcasting. The shapes are aligned at their trailing dimensions; in each
 * dimension the sizes must be equal or one of them 1 (a missing dimension counts as 1), and the
 * output takes the larger, the input of size 1 being repeated along it. A batch dimension
 * ({@link Shape#BATCH}) stays first: it broadcasts against 1 and matches another batch dimension,
 * and an input that has one needs at least as many dimensions as the other. The gradient of an
 * input sums the output's gradient over the positions where that input was repeated.
 *
 * <p>On a device one launch computes the output and one per input its gradient (a work-item per
 * element of the input, summing its repeats in a fixed order), over the shapes with size-1
 * dimensions dropped and neighbours that broadcast alike merged: at most {@value #KERNEL_RANK}
 * such dimensions.
 */
abstract class Broadcast implements Op {
  /** The most merged dimensions the kernels index. */
  static final int KERNEL_RANK = 6;

  private static final Kernel FORWARD = Kernel.of("broadcast", "broadcast_forward").ints("op", "n")
      .ints(numbered("d")).ints(numbered("sa")).ints(numbered("sb")).buffers("a", "b", "z");
  private static final Kernel BACKWARD_SUM = Kernel.of("broadcast", "broadcast_backward_sum").floats("sign")
      .ints("m", "reps").ints(numbered("d")).ints(numbered("sx")).buffers("dz", "dx").ints("acc");
  private static final Kernel BACKWARD = Kernel.of("broadcast", "broadcast_backward").ints("op", "input", "m", "reps")
      .ints(numbered("d")).ints(numbered("sa")).ints(numbered("sb")).buffers("a", "b", "dz", "dx").ints("acc");

  /** The four operations; the ordinal is the kernels' {@code op} code. */
  enum Arithmetic { ADD, SUB, MUL, DIV }

  private final Arithmetic arithmetic;

  Broadcast(Arithmetic arithmetic) {
    this.arithmetic = arithmetic;
  }

  @Override
  public final String kind() {
    return arithmetic.name().toLowerCase(java.util.Locale.ROOT);
  }

  @Override
  public final List<String> inputRoles() {
    return List.of("a", "b");
  }

  @Override
  public final Shape inferShape(ShapeContext c) {
    Shape a = c.in(0), b = c.in(1);
    int rank = Math.max(a.rank(), b.rank());
    for (int i = 0; i < 2; i++) {
      if (c.in(i).hasBatch() && c.in(i).rank() < rank) {
        throw c.error("'%s' %s has the batch dimension, which stays first, so it needs as many dimensions as '%s' %s",
            c.name(i), c.in(i), c.name(1 - i), c.in(1 - i));
      }
    }
    int[] out = new int[rank];
    for (int i = 0; i < rank; i++) {
      int da = Axes.aligned(a, i, rank), db = Axes.aligned(b, i, rank);
      if (da != db && da != 1 && db != 1) {
        throw c.error("cannot broadcast '%s' %s with '%s' %s: dimension %d is %s against %s (sizes must be equal or 1, "
            + "aligned at the last dimension)", c.name(0), a, c.name(1), b, i, Axes.text(da), Axes.text(db));
      }
      out[i] = da == 1 ? db : da;
    }
    return Shape.of(out);
  }

  /** How many output gradients the gradient of one element of an input sums, at most. */
  @Override
  public final int reductionLength(Shape[] in) {
    Shape a = in[0].resolve(1), b = in[1].resolve(1);
    return Layout.of(a, b).size() / Math.min(a.size(0), b.size(0));
  }

  /**
   * Row by row of the layout. The last dimension of each input either steps by 1 or repeats one
   * value (a merged layout keeps no other inner stride), so each case is a plain loop the JIT
   * vectorizes.
   */
  @Override
  public final void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] a = in[0].data, b = in[1].data, z = out.data;
    Layout l = Layout.of(in[0].shape, in[1].shape);
    int len = l.innerSize(), sa = l.inner(l.a), sb = l.inner(l.b);
    for (Odometer o = new Odometer(l); o.z < l.size(); o.next()) {
      int ao = o.a, bo = o.b, zo = o.z;
      if (sa == 1 && sb == 1) {
        switch (arithmetic) {
          case ADD -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] + b[bo + j]; }
          case SUB -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] - b[bo + j]; }
          case MUL -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] * b[bo + j]; }
          case DIV -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] / b[bo + j]; }
        }
      } else if (sb == 0) { // b repeats along the row (and a too for scalars, where len is 1)
        float v = b[bo];
        switch (arithmetic) {
          case ADD -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] + v; }
          case SUB -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] - v; }
          case MUL -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] * v; }
          case DIV -> { for (int j = 0; j < len; j++) z[zo + j] = a[ao + j] / v; }
        }
      } else { // a repeats along the row
        float u = a[ao];
        switch (arithmetic) {
          case ADD -> { for (int j = 0; j < len; j++) z[zo + j] = u + b[bo + j]; }
          case SUB -> { for (int j = 0; j < len; j++) z[zo + j] = u - b[bo + j]; }
          case MUL -> { for (int j = 0; j < len; j++) z[zo + j] = u * b[bo + j]; }
          case DIV -> { for (int j = 0; j < len; j++) z[zo + j] = u / b[bo + j]; }
        }
      }
    }
  }

  @Override
  public final void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Layout l = Layout.of(in[0].shape, in[1].shape);
    for (int input = 0; input < 2; input++) {
      if (dIn[input] != null) addGradient(l, input, in[0].data, in[1].data, dOut.data, dIn[input].data);
    }
  }

  /**
   * {@code dx += ∂z/∂x · dz}, summed over the positions where x repeats, in the output's order:
   * where x repeats along a row, into one sum; where it steps, as plain loops for the common
   * cases (a sum, a difference, a product), each element's own derivative otherwise.
   */
  private void addGradient(Layout l, int input, float[] a, float[] b, float[] dz, float[] dx) {
    boolean first = input == 0;
    int len = l.innerSize(), sa = l.inner(l.a), sb = l.inner(l.b), sx = first ? sa : sb, so = first ? sb : sa;
    float[] other = first ? b : a;
    for (Odometer o = new Odometer(l); o.z < l.size(); o.next()) {
      int ao = o.a, bo = o.b, zo = o.z, xo = first ? ao : bo, oo = first ? bo : ao;
      if (sx == 0) {
        float sum = dx[xo];
        for (int j = 0; j < len; j++) sum += derivative(first, a, ao + j * sa, b, bo + j * sb) * dz[zo + j];
        dx[xo] = sum;
      } else if (arithmetic == Arithmetic.ADD || arithmetic == Arithmetic.SUB && first) {
        for (int j = 0; j < len; j++) dx[xo + j] += dz[zo + j];
      } else if (arithmetic == Arithmetic.SUB) {
        for (int j = 0; j < len; j++) dx[xo + j] -= dz[zo + j];
      } else if (arithmetic == Arithmetic.MUL && so == 1) {
        for (int j = 0; j < len; j++) dx[xo + j] += dz[zo + j] * other[oo + j];
      } else if (arithmetic == Arithmetic.MUL) {
        float v = other[oo];
        for (int j = 0; j < len; j++) dx[xo + j] += dz[zo + j] * v;
      } else {
        for (int j = 0; j < len; j++) dx[xo + j] += derivative(first, a, ao + j * sa, b, bo + j * sb) * dz[zo + j];
      }
    }
  }

  /** {@code ∂z/∂a} (first) or {@code ∂z/∂b} at the elements {@code a[ai]}, {@code b[bi]}. */
  private float derivative(boolean first, float[] a, int ai, float[] b, int bi) {
    return switch (arithmetic) {
      case ADD -> 1f;
      case SUB -> first ? 1f : -1f;
      case MUL -> first ? b[bi] : a[ai];
      case DIV -> first ? 1f / b[bi] : -(a[ai] / b[bi] / b[bi]);
    };
  }

  @Override
  public final void forwardKernels(Launcher k) {
    Layout l = kernelLayout(k);
    List<Object> args = new ArrayList<>(List.of(arithmetic.ordinal(), l.size()));
    addInts(args, l.dims, l.a, l.b);
    args.addAll(List.of(k.in(0), k.in(1), k.out()));
    k.launch(FORWARD, over(l.size()), args.toArray());
  }

  @Override
  public final void backwardKernels(Launcher k) {
    Layout l = kernelLayout(k);
    for (int input = 0; input < 2; input++) {
      if (k.dIn(input) == null) continue;
      int m = k.inShape(input).size(0), reps = l.size() / m;
      List<Object> args = new ArrayList<>();
      if (arithmetic == Arithmetic.ADD || arithmetic == Arithmetic.SUB) {
        args.addAll(List.of(arithmetic == Arithmetic.SUB && input == 1 ? -1f : 1f, m, reps));
        addInts(args, l.dims, input == 0 ? l.a : l.b);
        args.addAll(List.of(k.dOut(), k.dIn(input), k.accumulate(input)));
        k.launch(BACKWARD_SUM, over(m), args.toArray());
      } else {
        args.addAll(List.of(arithmetic.ordinal(), input, m, reps));
        addInts(args, l.dims, l.a, l.b);
        args.addAll(List.of(k.in(0), k.in(1), k.dOut(), k.dIn(input), k.accumulate(input)));
        k.launch(BACKWARD, over(m), args.toArray());
      }
    }
  }

  /** The layout of the node's shapes padded to {@link #KERNEL_RANK} dimensions; refused when it needs more. */
  private static Layout kernelLayout(Launcher k) {
    Layout l = Layout.of(k.inShape(0), k.inShape(1));
    if (l.rank() > KERNEL_RANK) {
      throw new UnsupportedOperationException("broadcasting " + k.inShape(0) + " with " + k.inShape(1) + " needs "
          + l.rank() + " dimensions once size-1 dimensions are dropped and alike neighbours merged; the device "
          + "kernels index at most " + KERNEL_RANK + " (the CPU backend has no limit)");
    }
    return l.padded(KERNEL_RANK);
  }

  private static void addInts(List<Object> args, int[]... arrays) {
    for (int[] array : arrays) for (int v : array) args.add(v);
  }

  private static String[] numbered(String prefix) {
    String[] names = new String[KERNEL_RANK];
    for (int i = 0; i < names.length; i++) names[i] = prefix + i;
    return names;
  }

  /**
   * The output's dimensions, row-major, and each input's strides over them (0 where it
   * broadcasts), with size-1 dimensions dropped and neighbouring dimensions merged where each
   * input either repeats along both or along neither.
   */
  record Layout(int[] dims, int[] a, int[] b) {
    /** The layout of two resolved shapes that broadcast together. */
    static Layout of(Shape sa, Shape sb) {
      int rank = Math.max(sa.rank(), sb.rank()), k = 0;
      int[] dims = new int[rank];
      boolean[] keepsA = new boolean[rank], keepsB = new boolean[rank];
      for (int i = 0; i < rank; i++) {
        int da = Axes.aligned(sa, i, rank), db = Axes.aligned(sb, i, rank), d = Math.max(da, db);
        if (d == 1) continue;
        if (k > 0 && keepsA[k - 1] == (da != 1) && keepsB[k - 1] == (db != 1)) {
          dims[k - 1] *= d;
        } else {
          dims[k] = d;
          keepsA[k] = da != 1;
          keepsB[k] = db != 1;
          k++;
        }
      }
      dims = Arrays.copyOf(dims, k);
      return new Layout(dims, strides(dims, keepsA), strides(dims, keepsB));
    }

    private static int[] strides(int[] dims, boolean[] keeps) {
      int[] s = new int[dims.length];
      for (int i = dims.length - 1, step = 1; i >= 0; i--) {
        if (keeps[i]) {
          s[i] = step;
          step *= dims[i];
        }
      }
      return s;
    }

    int rank() {
      return dims.length;
    }

    /** The output's element count. */
    int size() {
      int n = 1;
      for (int d : dims) n *= d;
      return n;
    }

    /** The length of the last dimension, the CPU's inner loop (1 for a scalar). */
    int innerSize() {
      return dims.length == 0 ? 1 : dims[dims.length - 1];
    }

    /** The stride of the last dimension in {@code strides}. */
    int inner(int[] strides) {
      return strides.length == 0 ? 0 : strides[strides.length - 1];
    }

    /** The same layout with leading dimensions of 1 up to {@code rank}. */
    Layout padded(int rank) {
      return new Layout(pad(dims, rank, 1), pad(a, rank, 0), pad(b, rank, 0));
    }

    private static int[] pad(int[] v, int rank, int fill) {
      int[] out = new int[rank];
      Arrays.fill(out, 0, rank - v.length, fill);
      System.arraycopy(v, 0, out, rank - v.length, v.length);
      return out;
    }
  }

  /** Walks the rows of a layout (all dimensions but the last), with each row's offset in z, a and b. */
  private static final class Odometer {
    private final Layout l;
    private final int[] index;
    int z, a, b;

    Odometer(Layout l) {
      this.l = l;
      this.index = new int[Math.max(0, l.rank() - 1)];
    }

    void next() {
      z += l.innerSize();
      for (int d = index.length - 1; d >= 0; d--) {
        a += l.a[d];
        b += l.b[d];
        if (++index[d] < l.dims[d]) return;
        index[d] = 0;
        a -= l.a[d] * l.dims[d];
        b -= l.b[d] * l.dims[d];
      }
    }
  }
}
