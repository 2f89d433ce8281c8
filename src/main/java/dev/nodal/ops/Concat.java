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
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Concatenation of its inputs along one axis, as PyTorch's {@code torch.cat(xs, dim=axis)}: inputs
 * equal in every dimension but {@code axis} give the sum of their sizes along it. The axis is 1 by
 * default (the channels of N×C×H×W, the features of N×F: {@code [N, C_i, rest...]} give
 * {@code [N, ΣC_i, rest...]}); a negative one counts from the end ({@link #along(int) along(-1)}
 * joins the last). Inputs with a batch cannot be joined along it (axis 0): the output's batch
 * would not be the step's. It takes one or more inputs, as many as the node is given. Backward:
 * each input's gradient is its slice of {@code dz}. One launch per input each way.
 */
public final class Concat implements Op {
  private static final Kernel FORWARD = Kernel.of("concat", "concat_forward")
      .ints("size", "c", "rest", "outC", "offset").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("concat", "concat_backward")
      .ints("size", "c", "rest", "outC", "offset").buffers("dz", "dx").ints("acc");

  /** The number of inputs the op insists on, or 0 for any number (the node's). */
  private final int inputs;
  /** The axis joined along, as given (negative counts from the end). */
  private final int axis;

  /** A concatenation along axis 1 of however many inputs (at least one) the node it makes is given. */
  public Concat() {
    this(0, 1);
  }

  private Concat(int inputs, int axis) {
    this.inputs = inputs;
    this.axis = axis;
  }

  /** A concatenation along {@code axis} (negative counts from the end) of however many inputs the node is given. */
  public static Concat along(int axis) {
    return new Concat(0, axis);
  }

  /**
   * A concatenation of exactly {@code inputs} inputs, which the node must then be given.
   *
   * @deprecated the count only repeats what the node's inputs say; use {@link #Concat()}. Graph
   *     files that name the count (attribute {@code inputs}) still make this form.
   */
  @Deprecated
  public Concat(int inputs) {
    this(checkCount(inputs), 1);
  }

  private static int checkCount(int inputs) {
    if (inputs < 1) throw new IllegalArgumentException("concat needs at least 1 input, got " + inputs);
    return inputs;
  }

  /**
   * The graph file's attributes of a concat: files of version 1 name the count of inputs; a file
   * without an axis joins along 1.
   */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.optionalInteger("inputs", 1, Integer.MAX_VALUE),
      AttributeSchema.integer("axis", 1, Integer.MIN_VALUE, Integer.MAX_VALUE));

  static Concat fromAttributes(AttributeSchema.Values a) {
    return new Concat(a.integer("inputs", 0), a.integer("axis"));
  }

  @Override
  public String kind() {
    return "concat";
  }

  /** {@code [x0, x1, ...]} for a fixed count, else {@code [x]}, which every further input repeats. */
  @Override
  public List<String> inputRoles() {
    if (inputs == 0) return List.of("x");
    List<String> roles = new ArrayList<>();
    for (int i = 0; i < inputs; i++) roles.add("x" + i);
    return roles;
  }

  @Override
  public boolean isVariadic() {
    return inputs == 0;
  }

  /** The axis where it is not 1, and the count for the deprecated fixed form: none for the default. */
  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    if (inputs > 0) a.put("inputs", inputs);
    if (axis != 1) a.put("axis", axis);
    return a;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    int[] first = c.in(0).dims();
    int axis = Axes.check(c, "axis", this.axis);
    long joined = 0;
    for (int i = 0; i < c.inputCount(); i++) {
      if (axis == 0 && c.in(i).hasBatch()) {
        throw c.error("input '%s' %s: cannot join along the batch axis (the output's batch would not be the step's); "
            + "join along an axis after it", c.name(i), c.in(i));
      }
      int[] d = c.in(i).dims();
      boolean same = d.length == first.length;
      for (int k = 0; same && k < d.length; k++) same = k == axis || d[k] == first[k];
      if (!same) {
        throw c.error("input '%s' %s does not match '%s' %s in every dimension but %d", c.name(i), c.in(i), c.name(0),
            c.in(0), axis);
      }
      joined += d[axis];
    }
    if (joined > Integer.MAX_VALUE) {
      throw c.error("joining axis %d gives %d positions, more than one axis holds (%d)", axis, joined, Integer.MAX_VALUE);
    }
    int[] out = first.clone();
    out[axis] = (int) joined;
    return Shape.of(out);
  }

  /** The axis joined along, counted from the front of a shape of {@code rank}. */
  private int axis(int rank) {
    return Axes.resolve(axis, rank);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int axis = axis(out.shape.rank());
    int n = Axes.outer(out.shape, axis), outC = out.dim(axis), rest = Axes.inner(out.shape, axis), offset = 0;
    for (CpuTensor x : in) {
      int c = x.dim(axis), block = c * rest;
      for (int b = 0; b < n; b++) System.arraycopy(x.data, b * block, out.data, (b * outC + offset) * rest, block);
      offset += c;
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int axis = axis(out.shape.rank());
    int n = Axes.outer(out.shape, axis), outC = out.dim(axis), rest = Axes.inner(out.shape, axis), offset = 0;
    for (int i = 0; i < in.length; i++) {
      int c = in[i].dim(axis), block = c * rest;
      if (dIn[i] != null) {
        for (int b = 0; b < n; b++) {
          int from = (b * outC + offset) * rest, to = b * block;
          for (int e = 0; e < block; e++) dIn[i].data[to + e] += dOut.data[from + e];
        }
      }
      offset += c;
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int axis = axis(k.outShape().rank());
    int outC = k.outShape().dim(axis), rest = Axes.inner(k.outShape(), axis), offset = 0;
    for (int i = 0; i < k.inputCount(); i++) {
      int c = k.inShape(i).dim(axis), size = k.inShape(i).size(0);
      k.launch(FORWARD, over(size), size, c, rest, outC, offset, k.in(i), k.out());
      offset += c;
    }
  }

  @Override
  public void backwardKernels(Launcher k) {
    int axis = axis(k.outShape().rank());
    int outC = k.outShape().dim(axis), rest = Axes.inner(k.outShape(), axis), offset = 0;
    for (int i = 0; i < k.inputCount(); i++) {
      int c = k.inShape(i).dim(axis), size = k.inShape(i).size(0);
      if (k.dIn(i) != null) {
        k.launch(BACKWARD, over(size), size, c, rest, outC, offset, k.dOut(), k.dIn(i),
            k.accumulate(i));
      }
      offset += c;
    }
  }
}
