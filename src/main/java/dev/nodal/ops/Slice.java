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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A copy of positions {@code start} to {@code end − 1} along one axis, as Python's
 * {@code x[..., start:end]} on that axis (PyTorch's {@code x.narrow} where the bounds are in
 * range): negative {@code axis}, {@code start} and {@code end} count from the end, bounds past an
 * end are clamped to it, and a slice must keep at least one position. Without an {@code end}, it
 * runs to the end of the axis. Backward: {@code dz} goes to the slice's place in {@code dx}, and
 * nothing to the rest. The batch axis cannot be sliced: every step's batch would change size.
 * {@link Layers#split} makes the slices that cover an axis, as {@code torch.split}.
 */
public final class Slice implements Op {
  private static final Kernel FORWARD = Kernel.of("slice", "slice_forward")
      .ints("outputs", "size", "inner", "start", "length").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("slice", "slice_backward")
      .ints("inputs", "size", "inner", "start", "length").buffers("dz", "dx").ints("acc");

  private final int axis;
  private final int start;
  /** The end as given, or null: to the end of the axis. */
  private final Integer end;

  /** Positions {@code start} to {@code end − 1} of {@code axis}, as {@code x[..., start:end]}. */
  public Slice(int axis, int start, int end) {
    this(axis, start, Integer.valueOf(end));
  }

  private Slice(int axis, int start, Integer end) {
    this.axis = axis;
    this.start = start;
    this.end = end;
  }

  /** Positions {@code start} to the end of {@code axis}, as {@code x[..., start:]}. */
  public static Slice from(int axis, int start) {
    return new Slice(axis, start, null);
  }

  /** The graph file's attributes of a slice; a file without {@code end} slices to the end of the axis. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.integer("axis", null, Integer.MIN_VALUE, Integer.MAX_VALUE),
      AttributeSchema.integer("start", null, Integer.MIN_VALUE, Integer.MAX_VALUE),
      AttributeSchema.optionalInteger("end", Integer.MIN_VALUE, Integer.MAX_VALUE));

  static Slice fromAttributes(AttributeSchema.Values a) {
    return new Slice(a.integer("axis"), a.integer("start"), a.values().containsKey("end") ? a.integer("end") : null);
  }

  @Override
  public String kind() {
    return "slice";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  /** {@code axis}, {@code start} and, where given, {@code end}, as given (negative ones too). */
  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("axis", axis);
    a.put("start", start);
    if (end != null) a.put("end", end);
    return a;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape x = c.in(0);
    int k = Axes.check(c, "axis", axis);
    if (k == 0 && x.hasBatch()) {
      throw c.error("input '%s' %s: the batch axis cannot be sliced (each step's batch would change size); "
          + "slice an axis after it", c.name(0), x);
    }
    int size = x.dim(k), from = bound(start, size), to = end == null ? size : bound(end, size);
    if (to <= from) {
      throw c.error("[%d:%s] of axis %d of input '%s' %s is empty", start, end == null ? "" : end, k, c.name(0), x);
    }
    int[] out = x.dims();
    out[k] = to - from;
    return Shape.of(out);
  }

  /** A Python slice bound: negative counts from the end, then clamped to {@code [0, size]}. */
  private static int bound(int i, int size) {
    long b = i < 0 ? (long) i + size : i;
    return (int) Math.max(0, Math.min(size, b));
  }

  /** The slice on an input (batch resolved) seen as {@code [outer, size, inner]}: {@code length} positions from {@code start}. */
  private record Span(int outer, int size, int inner, int start, int length) {}

  private Span span(Shape x) {
    int k = Axes.resolve(axis, x.rank()), size = x.dim(k), from = bound(start, size);
    int to = end == null ? size : bound(end, size);
    return new Span(Axes.outer(x, k), size, Axes.inner(x, k), from, to - from);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Span s = span(in[0].shape);
    int block = s.length() * s.inner();
    for (int o = 0; o < s.outer(); o++) {
      System.arraycopy(in[0].data, (o * s.size() + s.start()) * s.inner(), out.data, o * block, block);
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    if (dIn[0] == null) return;
    Span s = span(in[0].shape);
    int block = s.length() * s.inner();
    float[] dz = dOut.data, dx = dIn[0].data;
    for (int o = 0; o < s.outer(); o++) {
      int to = (o * s.size() + s.start()) * s.inner(), from = o * block;
      for (int e = 0; e < block; e++) dx[to + e] += dz[from + e];
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    Span s = span(k.inShape(0));
    int outputs = k.outShape().size(0);
    k.launch(FORWARD, over(outputs), outputs, s.size(), s.inner(), s.start(), s.length(), k.in(0), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    if (k.dIn(0) == null) return;
    Span s = span(k.inShape(0));
    int inputs = k.inShape(0).size(0);
    k.launch(BACKWARD, over(inputs), inputs, s.size(), s.inner(), s.start(), s.length(), k.dOut(), k.dIn(0),
        k.accumulate(0));
  }
}
