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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What {@link Sum} and {@link Mean} share: the shape rule, the CPU code and the kernels
 * ({@code kernels/reduce.cl}), which differ only in the factor each sum is multiplied by.
 *
 * <p>The kernels see the input as runs of adjacent kept or reduced axes (axes of size 1 dropped),
 * at most {@link #RUNS} of them, which any input of rank 8 or less gives.
 */
abstract class AxisReduction implements Op {
  /** The most runs of kept and reduced axes the kernels take. */
  static final int RUNS = 8;
  /** Past this many elements per output, a work-group sums each output instead of one work-item. */
  static final int LONG = 256;

  private static final String[] SIZES = {"g0", "g1", "g2", "g3", "g4", "g5", "g6", "g7"};
  private static final Kernel FORWARD = Kernel.of("reduce", "reduce_forward").ints("outputs", "count").ints(SIZES)
      .ints("reduced").floats("scale").buffers("x", "z");
  private static final Kernel FORWARD_GROUPS = Kernel.of("reduce", "reduce_forward_groups").ints("outputs", "count")
      .ints(SIZES).ints("reduced").floats("scale").buffers("x", "z").groupScratch("scratch");
  private static final Kernel BACKWARD = Kernel.of("reduce", "reduce_backward").ints("size").ints(SIZES)
      .ints("reduced").floats("scale").buffers("dz", "dx").ints("acc");

  /** The graph file's attributes of a sum or mean. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.integers("axes", null, Integer.MIN_VALUE, Integer.MAX_VALUE),
      AttributeSchema.bool("keep_dims", false));

  private final int[] axes;
  private final boolean keepDims;

  AxisReduction(int[] axes, boolean keepDims) {
    if (axes == null || axes.length == 0) {
      throw new IllegalArgumentException(kind() + ": name at least one axis to reduce (all of them for a single value)");
    }
    this.axes = axes.clone();
    this.keepDims = keepDims;
  }

  /** The attributes' axes, as an array. */
  static int[] axes(AttributeSchema.Values a) {
    return a.integers("axes").stream().mapToInt(Integer::intValue).toArray();
  }

  /** What each sum is multiplied by, for {@code count} elements summed. */
  abstract double factor(int count);

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  /** {@code axes} as given (negative ones too) and {@code keep_dims}. */
  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("axes", Arrays.stream(axes).boxed().toList());
    a.put("keep_dims", keepDims);
    return a;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape x = c.in(0);
    boolean[] reduced = new boolean[x.rank()];
    for (int a : axes) {
      int k = Axes.check(c, "axis", a);
      if (reduced[k]) throw c.error("axes %s name axis %d twice", Arrays.toString(axes), k);
      reduced[k] = true;
    }
    if (reduced[0] && x.hasBatch()) {
      throw c.error("axis 0 of input '%s' %s is the batch, which %s cannot reduce: each step's batch (and each "
          + "data-parallel worker's share of it) would give a different sum; reduce within examples, and over the "
          + "batch with a loss (mse, nll)", c.name(0), x, kind());
    }
    if (runs(x, reduced).size() > RUNS) {
      throw c.error("axes %s of input '%s' %s alternate between kept and reduced more than %d times; "
          + "reshape or reduce in two steps", Arrays.toString(axes), c.name(0), x, RUNS);
    }
    List<Integer> out = new ArrayList<>();
    for (int k = 0; k < x.rank(); k++) {
      if (!reduced[k]) out.add(x.dim(k));
      else if (keepDims) out.add(1);
    }
    return Shape.of(out.stream().mapToInt(Integer::intValue).toArray());
  }

  /** Which axes of a shape of {@code rank} are reduced. */
  private boolean[] reduced(int rank) {
    boolean[] r = new boolean[rank];
    for (int a : axes) r[Axes.resolve(a, rank)] = true;
    return r;
  }

  /**
   * Runs of adjacent axes that are all kept or all reduced, axes of size 1 left out: each as
   * {@code {size, 1 if reduced}}, outermost first. A batch dimension (never reduced) counts as more than 1.
   */
  private static List<int[]> runs(Shape x, boolean[] reduced) {
    List<int[]> runs = new ArrayList<>();
    for (int k = 0; k < x.rank(); k++) {
      int d = x.dim(k), kind = reduced[k] ? 1 : 0;
      if (d == 1) continue;
      int[] last = runs.isEmpty() ? null : runs.get(runs.size() - 1);
      if (last != null && last[1] == kind) last[0] *= d;
      else runs.add(new int[] {d, kind});
    }
    return runs;
  }

  /**
   * The input (batch resolved) as the kernels see it: {@link #RUNS} sizes, padded in front with 1s,
   * and a mask with bit k set where size k is summed over.
   */
  private record Geometry(int[] sizes, int reduced, int outputs, int count) {
    /** The output element that input element {@code i} is summed into. */
    int outputOf(int i) {
      int o = 0, stride = 1;
      for (int k = RUNS - 1; k >= 0; k--) {
        int index = i % sizes[k];
        i /= sizes[k];
        if ((reduced >> k & 1) == 0) {
          o += index * stride;
          stride *= sizes[k];
        }
      }
      return o;
    }
  }

  private Geometry geometry(Shape x) {
    List<int[]> runs = runs(x, reduced(x.rank()));
    int[] sizes = new int[RUNS];
    Arrays.fill(sizes, 1);
    int mask = 0, outputs = 1, count = 1;
    for (int i = 0, k = RUNS - runs.size(); i < runs.size(); i++, k++) {
      sizes[k] = runs.get(i)[0];
      if (runs.get(i)[1] == 1) {
        mask |= 1 << k;
        count *= sizes[k];
      } else {
        outputs *= sizes[k];
      }
    }
    return new Geometry(sizes, mask, outputs, count);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Geometry g = geometry(in[0].shape);
    double[] sums = new double[g.outputs()];
    float[] x = in[0].data;
    for (int i = 0, n = in[0].size(); i < n; i++) sums[g.outputOf(i)] += x[i];
    double f = factor(g.count());
    for (int o = 0; o < sums.length; o++) out.data[o] = (float) (sums[o] * f);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    if (dIn[0] == null) return;
    Geometry g = geometry(in[0].shape);
    float f = (float) factor(g.count());
    float[] dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = in[0].size(); i < n; i++) dx[i] += f * dz[g.outputOf(i)];
  }

  /** The kernel arguments from {@code first} on: the sizes, the mask and the factor. */
  private Object[] arguments(Geometry g, Object[] first, Object... last) {
    List<Object> args = new ArrayList<>(Arrays.asList(first));
    for (int s : g.sizes()) args.add(s);
    args.add(g.reduced());
    args.add((float) factor(g.count()));
    args.addAll(Arrays.asList(last));
    return args.toArray();
  }

  @Override
  public void forwardKernels(Launcher k) {
    Geometry g = geometry(k.inShape(0));
    Object[] args = arguments(g, new Object[] {g.outputs(), g.count()}, k.in(0), k.out());
    if (g.count() > LONG) k.launchGroups(FORWARD_GROUPS, g.outputs(), args);
    else k.launch(FORWARD, over(g.outputs()), args);
  }

  @Override
  public void backwardKernels(Launcher k) {
    if (k.dIn(0) == null) return;
    Geometry g = geometry(k.inShape(0));
    int size = k.inShape(0).size(0);
    k.launch(BACKWARD, over(size), arguments(g, new Object[] {size}, k.dOut(), k.dIn(0), k.accumulate(0)));
  }

  /** The number of elements each output sums. */
  @Override
  public int reductionLength(Shape[] in) {
    int count = 1;
    for (int a : axes) count *= Math.max(1, in[0].dim(Axes.resolve(a, in[0].rank())));
    return count;
  }
}
