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
 * Reshape that keeps dimension 0 (the batch) and regroups the rest, in row-major order:
 * {@code [N, a, b, ...]} becomes {@code [N, dims...]} when the products agree. {@link #flatten()}
 * gives {@code [N, a·b·...]}, as PyTorch's {@code flatten(1)}. Backward is the same regrouping of
 * the gradient.
 *
 * <p>A view ({@link #isView()}): the step plan gives the output the input's memory, so nothing is
 * copied and no kernel runs; the gradient too, unless the input feeds other nodes as well (then
 * backward adds {@code dz} into the input's own gradient, one elementwise launch). Where a plan
 * does not share (a parameter's values), forward copies.
 */
public final class Reshape implements Op {
  private static final Kernel FORWARD = Kernel.of("reshape", "reshape_forward").ints("n").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("reshape", "reshape_backward").ints("n").buffers("dz", "dx")
      .ints("acc");

  private final int[] dims;

  /** To {@code [N, dims...]}; {@code dims} of length 0 means "everything in one dimension". */
  public Reshape(int... dims) {
    for (int d : dims) if (d < 1) throw new IllegalArgumentException("reshape: dimensions must be >= 1, got " + Arrays.toString(dims));
    this.dims = dims.clone();
  }

  /** {@code [N, a, b, ...]} to {@code [N, a·b·...]}. */
  public static Reshape flatten() {
    return new Reshape();
  }

  /** The graph file's attributes of a reshape: the dimensions after the batch (none: flatten). */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.integers("shape", List.of(), 1, Integer.MAX_VALUE));

  static Reshape fromAttributes(AttributeSchema.Values a) {
    return new Reshape(a.integers("shape").stream().mapToInt(Integer::intValue).toArray());
  }

  @Override
  public String kind() {
    return "reshape";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Map<String, Object> attributes() {
    return Map.of("shape", Arrays.stream(dims).boxed().toList());
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape x = c.in(0);
    if (x.rank() < 1) throw c.error("input '%s' is a scalar: it has no dimension 0 to keep", c.name(0));
    int rest = 1;
    for (int i = 1; i < x.rank(); i++) rest *= x.dim(i);
    int[] to = dims.length == 0 ? new int[] {rest} : dims;
    int product = 1;
    for (int d : to) product *= d;
    if (product != rest) {
      throw c.error("input '%s' %s has %d values per example; %s holds %d", c.name(0), x, rest, Arrays.toString(to), product);
    }
    int[] out = new int[to.length + 1];
    out[0] = x.dim(0);
    System.arraycopy(to, 0, out, 1, to.length);
    return Shape.of(out);
  }

  @Override
  public boolean isView() {
    return true;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    if (in[0].data != out.data) System.arraycopy(in[0].data, 0, out.data, 0, out.size());
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] dz = dOut.data, dx = dIn[0].data;
    if (dx == dz) return;
    for (int i = 0, n = out.size(); i < n; i++) dx[i] += dz[i];
  }

  @Override
  public void forwardKernels(Launcher l) {
    if (l.in(0).equals(l.out())) return;
    int n = l.outShape().size(0);
    l.launch(FORWARD, over(n), n, l.in(0), l.out());
  }

  @Override
  public void backwardKernels(Launcher l) {
    if (l.dIn(0) == null || l.dIn(0).equals(l.dOut())) return;
    int n = l.outShape().size(0);
    l.launch(BACKWARD, over(n), n, l.dOut(), l.dIn(0), l.accumulate(0));
  }
}
