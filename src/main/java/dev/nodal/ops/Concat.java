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
import java.util.List;
import java.util.Map;

/**
 * Concatenation of its inputs along dimension 1 (the channels of N×C×H×W, the features of N×F), as
 * PyTorch's {@code torch.cat(xs, dim=1)}: inputs {@code [N, C_i, rest...]} with equal N and rest
 * give {@code [N, ΣC_i, rest...]}. It takes one or more inputs, as many as the node is given.
 * Backward: each input's gradient is its slice of {@code dz}. One launch per input each way.
 */
public final class Concat implements Op {
  private static final Kernel FORWARD = Kernel.of("concat", "concat_forward")
      .ints("size", "c", "rest", "outC", "offset").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("concat", "concat_backward")
      .ints("size", "c", "rest", "outC", "offset").buffers("dz", "dx").ints("acc");

  /** The number of inputs the op insists on, or 0 for any number (the node's). */
  private final int inputs;

  /** A concatenation of however many inputs (at least one) the node it makes is given. */
  public Concat() {
    this.inputs = 0;
  }

  /**
   * A concatenation of exactly {@code inputs} inputs, which the node must then be given.
   *
   * @deprecated the count only repeats what the node's inputs say; use {@link #Concat()}. Graph
   *     files that name the count (attribute {@code inputs}) still make this form.
   */
  @Deprecated
  public Concat(int inputs) {
    if (inputs < 1) throw new IllegalArgumentException("concat needs at least 1 input, got " + inputs);
    this.inputs = inputs;
  }

  /** The graph file's attributes of a concat: files of version 1 name the count of inputs. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.optionalInteger("inputs", 1, Integer.MAX_VALUE));

  @SuppressWarnings("deprecation") // a count read from an older file is checked against the node's inputs
  static Concat fromAttributes(AttributeSchema.Values a) {
    int inputs = a.integer("inputs", 0);
    return inputs > 0 ? new Concat(inputs) : new Concat();
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

  /** None, or the count for the deprecated fixed form. */
  @Override
  public Map<String, Object> attributes() {
    return inputs == 0 ? Map.of() : Map.of("inputs", inputs);
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    int[] first = c.in(0).dims();
    if (first.length < 2) throw c.error("input '%s' %s: concat joins along dimension 1, which it lacks", c.name(0), c.in(0));
    int channels = 0;
    for (int i = 0; i < c.inputCount(); i++) {
      int[] d = c.in(i).dims();
      boolean same = d.length == first.length && d[0] == first[0];
      for (int k = 2; same && k < d.length; k++) same = d[k] == first[k];
      if (!same) {
        throw c.error("input '%s' %s does not match '%s' %s in every dimension but 1", c.name(i), c.in(i), c.name(0), c.in(0));
      }
      channels += d[1];
    }
    int[] out = first.clone();
    out[1] = channels;
    return Shape.of(out);
  }

  /** Elements per channel: the product of the dimensions after 1. */
  private static int rest(Shape s) {
    int r = 1;
    for (int k = 2; k < s.rank(); k++) r *= s.dim(k);
    return r;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int n = out.dim(0), outC = out.dim(1), rest = rest(out.shape), offset = 0;
    for (CpuTensor x : in) {
      int c = x.dim(1), block = c * rest;
      for (int b = 0; b < n; b++) System.arraycopy(x.data, b * block, out.data, (b * outC + offset) * rest, block);
      offset += c;
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int n = out.dim(0), outC = out.dim(1), rest = rest(out.shape), offset = 0;
    for (int i = 0; i < in.length; i++) {
      int c = in[i].dim(1), block = c * rest;
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
    int outC = k.outShape().dim(1), rest = rest(k.outShape()), offset = 0;
    for (int i = 0; i < k.inputCount(); i++) {
      int c = k.inShape(i).dim(1), size = k.inShape(i).size(0);
      k.launch(FORWARD, over(size), size, c, rest, outC, offset, k.in(i), k.out());
      offset += c;
    }
  }

  @Override
  public void backwardKernels(Launcher k) {
    int outC = k.outShape().dim(1), rest = rest(k.outShape()), offset = 0;
    for (int i = 0; i < k.inputCount(); i++) {
      int c = k.inShape(i).dim(1), size = k.inShape(i).size(0);
      if (k.dIn(i) != null) {
        k.launch(BACKWARD, over(size), size, c, rest, outC, offset, k.dOut(), k.dIn(i),
            k.accumulate(i));
      }
      offset += c;
    }
  }
}
