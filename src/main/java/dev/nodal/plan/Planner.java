package dev.nodal.plan;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;
import dev.nodal.plan.Launch.Arg;
import dev.nodal.plan.StepPlan.Buffer;
import dev.nodal.plan.StepPlan.Region;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Builds the {@link StepPlan} of a graph for a device: memory once, for the largest batch; the
 * launches of a step per batch size; the update launch per optimizer. Pure Java: tested, counted
 * and printed without a device.
 */
public final class Planner {

  private final Graph graph;
  private final DeviceTraits device;
  private final StepPlan plan;

  /** Plans memory for batches of up to {@code maxBatch}, keeping what {@code keep} names. */
  public Planner(Graph graph, int maxBatch, Keep keep, DeviceTraits device) {
    this.graph = graph;
    this.device = device;
    this.plan = layout(maxBatch, keep);
  }

  public StepPlan plan() {
    return plan;
  }

  public DeviceTraits device() {
    return device;
  }

  // ---- memory ----------------------------------------------------------------------------------

  private StepPlan layout(int maxBatch, Keep keep) {
    List<Node> nodes = graph.nodes();
    for (Node node : nodes) {
      long elements = (long) (node.shape().hasBatch() ? maxBatch : 1) * node.shape().exampleSize();
      if (elements > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "%s '%s': %d examples of %d values make %,d floats, more than "
            + "one buffer can hold (2^31 - 1); compile for a smaller batch (maxBatch, --batch-size)", node.kind(),
            node.name(), maxBatch, node.shape().exampleSize(), elements));
      }
    }
    int n = nodes.size();
    List<Region> regions = new ArrayList<>();
    List<Buffer> buffers = new ArrayList<>();
    int[] value = new int[n], gradient = new int[n];
    int[][] work = new int[n][0];
    int[][][] scratch = new int[n][2][0];
    java.util.Arrays.fill(gradient, -1);
    Map<String, Integer> blocks = new HashMap<>();

    // Flat blocks: every parameter at one aligned offset in each.
    List<Param> params = graph.params();
    long[] offset = new long[params.size()];
    long blockBytes = 0;
    for (int i = 0; i < params.size(); i++) {
      offset[i] = blockBytes;
      blockBytes = align(blockBytes + 4L * params.get(i).shape().exampleSize());
    }
    if (blockBytes / 4 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "the parameters hold %,d floats, more than one buffer can hold "
          + "(2^31 - 1): the update runs over all of them at once", blockBytes / 4));
    }
    boolean gradients = graph.loss() != null && params.stream().anyMatch(graph::needsGradient);
    if (!params.isEmpty()) {
      int valuesRegion = addRegion(regions, "parameters", blockBytes, true);
      blocks.put("parameters", addBuffer(buffers, "parameters", blockBytes, valuesRegion, 0));
      int gradRegion = -1;
      if (gradients) {
        gradRegion = addRegion(regions, "gradients", blockBytes, true);
        blocks.put("gradients", addBuffer(buffers, "gradients", blockBytes, gradRegion, 0));
        blocks.put("gradient norm", addOwn(regions, buffers, "gradient norm", 4));
      }
      for (int i = 0; i < params.size(); i++) {
        Param p = params.get(i);
        long bytes = 4L * p.shape().exampleSize();
        value[p.id()] = addBuffer(buffers, "value:" + p.name(), bytes, valuesRegion, offset[i]);
        if (gradients && graph.needsGradient(p)) {
          gradient[p.id()] = addBuffer(buffers, "grad:" + p.name(), bytes, gradRegion, offset[i]);
        }
      }
    }

    // Everything else: kept buffers own a region, the rest share pool regions. A view (an op that
    // only regroups its input, such as reshape) shares its input's memory: values always, the
    // gradient when the input feeds nothing else. The group lives as long as its longest member.
    int[] valueRoot = new int[n], gradRoot = new int[n];
    int[] valueLast = new int[n], gradFirst = new int[n];
    boolean[] valueKept = new boolean[n], gradKept = new boolean[n];
    for (Node node : nodes) {
      int id = node.id();
      valueRoot[id] = id;
      gradRoot[id] = id;
      if (node instanceof Apply a && a.op().isView()) {
        Node in = a.inputs().get(0);
        if (!(in instanceof Param) && !(in instanceof State)) valueRoot[id] = valueRoot[in.id()];
        if (runsBackward(in) && runsBackward(node) && !(in instanceof Param) && graph.consumers(in).size() == 1) {
          gradRoot[id] = gradRoot[in.id()];
        }
      }
      valueLast[valueRoot[id]] = Math.max(valueLast[valueRoot[id]], valueEnd(node));
      valueKept[valueRoot[id]] |= keep.value(graph, node);
      if (runsBackward(node)) {
        int r = gradRoot[id];
        gradFirst[r] = r == id ? gradientStart(node) : Math.min(gradFirst[r], gradientStart(node));
        gradKept[r] |= keep.gradient(graph, node);
      }
    }
    BufferPlanner pool = new BufferPlanner();
    Map<Integer, Integer> pooled = new HashMap<>(); // pool request -> buffer
    // Kernel scratch shares memory only with other scratch: the CPU backend, which allocates a
    // region when a value or gradient first uses it, then never allocates scratch at all.
    BufferPlanner scratchPool = new BufferPlanner();
    Map<Integer, Integer> scratchPooled = new HashMap<>();
    for (Node node : nodes) {
      int id = node.id();
      long bytes = 4L * Math.max(1, node.shape().size(maxBatch));
      if (!(node instanceof Param)) {
        value[id] = valueRoot[id] != id ? value[valueRoot[id]] : valueKept[id]
            ? addOwn(regions, buffers, "value:" + node.name(), bytes)
            : pool(pool, pooled, buffers, "value:" + node.name(), bytes, id, valueLast[id]);
      }
      if (!(node instanceof Param) && runsBackward(node)) {
        gradient[id] = gradRoot[id] != id ? gradient[gradRoot[id]] : gradKept[id]
            ? addOwn(regions, buffers, "grad:" + node.name(), bytes)
            : pool(pool, pooled, buffers, "grad:" + node.name(), bytes, gradFirst[id], backwardTime(node));
      }
    }
    for (Node node : nodes) {
      if (!(node instanceof Apply a)) continue;
      List<Shape> shapes = a.op().workspace(a.inputs().stream().map(Node::shape).toArray(Shape[]::new));
      work[node.id()] = new int[shapes.size()];
      for (int i = 0; i < shapes.size(); i++) {
        long bytes = 4L * Math.max(1, shapes.get(i).size(maxBatch));
        work[node.id()][i] = pool(pool, pooled, buffers, "work" + i + ":" + node.name(), bytes, node.id(),
            runsBackward(node) ? backwardTime(node) : node.id());
      }
      Shape[] resolved = a.inputs().stream().map(in -> in.shape().resolve(maxBatch)).toArray(Shape[]::new);
      for (int pass = 0; pass < (runsBackward(node) ? 2 : 1); pass++) {
        int time = pass == 0 ? node.id() : backwardTime(node);
        List<Shape> scratchShapes = a.op().scratch(resolved, pass == 1);
        scratch[node.id()][pass] = new int[scratchShapes.size()];
        for (int i = 0; i < scratchShapes.size(); i++) {
          long elements = scratchShapes.get(i).size(maxBatch);
          if (elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s '%s': scratch %d of %,d floats is more than one buffer "
                + "can hold (2^31 - 1)", node.kind(), node.name(), i, elements));
          }
          scratch[node.id()][pass][i] = pool(scratchPool, scratchPooled, buffers, (pass == 0 ? "scratch" : "bscratch") + i + ":"
              + node.name(), 4L * Math.max(1, elements), time, time);
        }
      }
    }
    placePool(pool, pooled, regions, buffers, "pool");
    placePool(scratchPool, scratchPooled, regions, buffers, "scratch");
    return new StepPlan(nodes, regions, buffers, value, gradient, work, scratch, blocks, firstWrites(gradient));
  }

  /** Gives each physical buffer of a pool a region named {@code prefix<r>}, and its buffers their region. */
  private static void placePool(BufferPlanner pool, Map<Integer, Integer> pooled, List<Region> regions,
      List<Buffer> buffers, String prefix) {
    BufferPlanner.Plan shared = pool.plan();
    int first = regions.size();
    for (int r = 0; r < shared.physicalBytes().length; r++) {
      addRegion(regions, prefix + r, shared.physicalBytes()[r], false);
    }
    for (Map.Entry<Integer, Integer> e : pooled.entrySet()) {
      Buffer b = buffers.get(e.getValue());
      buffers.set(e.getValue(), new Buffer(b.name(), b.bytes(), first + shared.physicalOf()[e.getKey()], 0, b.start(),
          b.end()));
    }
  }

  private long align(long bytes) {
    long a = device.alignBytes();
    return (bytes + a - 1) / a * a;
  }

  private static int addRegion(List<Region> regions, String name, long bytes, boolean block) {
    regions.add(new Region(name, bytes, block));
    return regions.size() - 1;
  }

  private static int addBuffer(List<Buffer> buffers, String name, long bytes, int region, long offset) {
    buffers.add(new Buffer(name, bytes, region, offset, StepPlan.ALWAYS, 0));
    return buffers.size() - 1;
  }

  private static int addOwn(List<Region> regions, List<Buffer> buffers, String name, long bytes) {
    return addBuffer(buffers, name, bytes, addRegion(regions, name, bytes, false), 0);
  }

  private static int pool(BufferPlanner pool, Map<Integer, Integer> pooled, List<Buffer> buffers, String name,
      long bytes, int start, int end) {
    int request = pool.add(bytes, start, end);
    buffers.add(new Buffer(name, bytes, -1, 0, start, end)); // region set once the pool is planned
    pooled.put(request, buffers.size() - 1);
    return buffers.size() - 1;
  }

  private int backwardTime(Node node) {
    return 2 * graph.nodes().size() - 1 - node.id();
  }

  /** The last time a value is read: by a consumer's forward, or by a backward that needs it. */
  private int valueEnd(Node node) {
    int end = node.id();
    boolean training = graph.loss() != null;
    for (Node c : graph.consumers(node)) {
      end = Math.max(end, c.id());
      if (training && graph.needsGradient(c)) end = Math.max(end, backwardTime(c));
    }
    if (training && graph.needsGradient(node)) end = Math.max(end, backwardTime(node));
    return end;
  }

  /** A gradient's life starts at the backward of its last consumer, which writes it first. */
  private int gradientStart(Node node) {
    int start = Integer.MAX_VALUE;
    for (Node c : graph.consumers(node)) if (graph.needsGradient(c)) start = Math.min(start, backwardTime(c));
    return start;
  }

  /**
   * For each node, in backward order, the inputs whose gradient it is the first to write; a view
   * whose gradient is its input's writes nothing of its own.
   */
  private List<List<Node>> firstWrites(int[] gradient) {
    List<Node> nodes = graph.nodes();
    List<List<Node>> out = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) out.add(new ArrayList<>());
    Set<Node> written = new HashSet<>();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      if (!(nodes.get(i) instanceof Apply a) || !runsBackward(a)) continue;
      for (Node in : a.inputs()) {
        if (gradient[in.id()] == gradient[a.id()]) continue; // a view sharing its input's gradient
        if (graph.needsGradient(in) && written.add(in)) out.get(i).add(in);
      }
    }
    return out.stream().map(List::copyOf).toList();
  }

  private boolean runsBackward(Node node) {
    return graph.loss() != null && graph.needsGradient(node);
  }

  // ---- launches --------------------------------------------------------------------------------

  /** The launches of a training step at {@code batch} examples. */
  public StepPlan.Steps steps(int batch) {
    return steps(batch, true);
  }

  /**
   * The launches of a step at {@code batch} examples, in training or evaluation mode; a step in
   * evaluation mode has no backward launches (backward needs a forward in training mode).
   */
  public StepPlan.Steps steps(int batch, boolean training) {
    List<Launch> forward = new ArrayList<>(), backward = new ArrayList<>();
    for (Node node : graph.nodes()) {
      if (node instanceof Apply a) withNode(a, () -> a.op().forwardKernels(new Recorder(a, batch, training, forward, null)));
    }
    Set<Node> written = new HashSet<>();
    for (int i = graph.nodes().size() - 1; i >= 0 && training; i--) {
      if (graph.nodes().get(i) instanceof Apply a && runsBackward(a)) {
        withNode(a, () -> a.op().backwardKernels(new Recorder(a, batch, true, backward, written)));
      }
    }
    return new StepPlan.Steps(batch, List.copyOf(forward), List.copyOf(backward));
  }

  /** Runs an op's kernel description; an op without kernels is a GraphException naming the node. */
  private static void withNode(Apply a, Runnable describe) {
    try {
      describe.run();
    } catch (UnsupportedOperationException e) {
      throw new GraphException("node '" + a.name() + "': " + e.getMessage());
    }
  }

  /**
   * The update of every parameter at once: one launch over the flat blocks, after one that sums
   * the squared gradients when the optimizer clips the global norm. The update kernel's parameters
   * are checked as an op's are: the optimizer's hyper-parameters fill its trailing floats.
   */
  public List<Launch> update(Optimizer optimizer) {
    if (!plan.hasBlock("gradients")) return List.of();
    int n = plan.blockFloats();
    Launch.Buf grads = new Launch.Buf(plan.block("gradients")), norm = new Launch.Buf(plan.block("gradient norm"));
    List<Launch> launches = new ArrayList<>();
    if (optimizer.clipNorm() > 0) {
      launches.add(new Launch.Rows("update", Optimizer.GRAD_NORM_SQ,
          checked("update", Optimizer.GRAD_NORM_SQ, List.of(new Launch.I32(n), grads, norm)), 1));
    }
    List<Arg> args = new ArrayList<>(List.of(new Launch.Buf(plan.block("parameters")), grads));
    for (int s = 0; s < optimizer.stateSlots(); s++) args.add(new Launch.Slot(s));
    args.add(norm);
    args.add(new Launch.I32(n));
    for (int h = 0; h < optimizer.hyperParameters().length; h++) args.add(new Launch.Hyper(h));
    launches.add(new Launch.Grid("update", optimizer.kernel(), checked("update", optimizer.kernel(), args),
        new int[] {n}, null));
    return List.copyOf(launches);
  }

  /** Why {@code value} cannot be the kernel's parameter {@code p}, or null when it can. */
  private static String mismatch(Arg value, Kernel.Param p) {
    boolean fits = switch (p.type()) {
      case INT -> value instanceof Launch.I32 || value instanceof Launch.Step;
      case FLOAT -> value instanceof Launch.F32 || value instanceof Launch.Hyper;
      case BUFFER -> value instanceof Launch.Buf || value instanceof Launch.Slot;
      case GROUP_SCRATCH -> false;
    };
    if (fits) return null;
    String given = value instanceof Launch.I32 ? "an int" : value instanceof Launch.F32 || value instanceof Launch.Hyper
        ? "a float" : value instanceof Launch.Step ? "the step (an int)" : "a buffer";
    return given + ", but the kernel takes " + switch (p.type()) {
      case INT -> "an int";
      case FLOAT -> "a float";
      case BUFFER -> "a buffer";
      case GROUP_SCRATCH -> "the group scratch, which the backend supplies";
    };
  }

  /**
   * {@code args} when they fit the parameters {@code kernel} expects from its caller (all but a
   * trailing group scratch), in count and type; else an IllegalArgumentException that names the
   * node, the kernel and the argument.
   */
  private static List<Arg> checked(String node, Kernel kernel, List<Arg> args) {
    List<Kernel.Param> params = kernel.passed();
    if (args.size() != params.size()) {
      throw new IllegalArgumentException("node '" + node + "': kernel " + kernel + " takes " + params.size()
          + " arguments" + (kernel.hasGroupScratch() ? " (its group scratch comes from the backend)" : "") + ", got "
          + args.size());
    }
    for (int i = 0; i < args.size(); i++) {
      String why = mismatch(args.get(i), params.get(i));
      if (why != null) {
        throw new IllegalArgumentException("node '" + node + "': kernel " + kernel.program() + ":" + kernel.function()
            + ", argument " + i + " '" + params.get(i).name() + "' is " + why);
      }
    }
    return List.copyOf(args);
  }

  private static Arg arg(Object value, int position, String node, Kernel kernel) {
    if (value instanceof BufferHandle b) return new Launch.Buf(b.buffer());
    if (value instanceof Integer i) return new Launch.I32(i);
    if (value instanceof Float f) return new Launch.F32(f);
    if (value == STEP) return new Launch.Step();
    String name = position < kernel.params().size() ? " '" + kernel.params().get(position).name() + "'" : "";
    throw new IllegalArgumentException("node '" + node + "': kernel " + kernel.program() + ":" + kernel.function()
        + ", argument " + position + name + (value == null ? " is null (a gradient buffer that is not needed?)"
        : " has type " + value.getClass().getSimpleName() + "; pass a buffer, an Integer or a Float"));
  }

  private record BufferHandle(int buffer) implements Launcher.Buffer {}

  /** What {@link Launcher#step()} returns: a marker that becomes a {@link Launch.Step} argument. */
  private static final Object STEP = new Object() {
    @Override
    public String toString() {
      return "step";
    }
  };

  /** The {@link Launcher} through which one node's op describes its kernels. */
  private final class Recorder implements Launcher {
    private final Apply node;
    private final int batch;
    private final boolean training;
    private final List<Launch> out;
    private final Set<Node> written;

    Recorder(Apply node, int batch, boolean training, List<Launch> out, Set<Node> written) {
      this.node = node;
      this.batch = batch;
      this.training = training;
      this.out = out;
      this.written = written;
    }

    @Override
    public int inputCount() {
      return node.inputs().size();
    }

    @Override
    public Shape inShape(int i) {
      return node.inputs().get(i).shape().resolve(batch);
    }

    @Override
    public Shape outShape() {
      return node.shape().resolve(batch);
    }

    @Override
    public Buffer in(int i) {
      return new BufferHandle(plan.value(node.inputs().get(i)));
    }

    @Override
    public Buffer out() {
      return new BufferHandle(plan.value(node));
    }

    @Override
    public Buffer work(int i) {
      int[] w = plan.work(node);
      if (i < 0 || i >= w.length) {
        throw new IllegalStateException(node.name() + ": workspace " + i + " was not declared (it has " + w.length + ")");
      }
      return new BufferHandle(w[i]);
    }

    @Override
    public Buffer scratch(int i) {
      int[] s = plan.scratch(node, written != null);
      if (i < 0 || i >= s.length) {
        throw new IllegalStateException(node.name() + ": scratch " + i + " was not declared (it has " + s.length + ")");
      }
      return new BufferHandle(s[i]);
    }

    @Override
    public boolean training() {
      return training;
    }

    @Override
    public int maxWorkGroupSize() {
      return (int) Math.min(Integer.MAX_VALUE, device.maxWorkGroupSize());
    }

    @Override
    public Object step() {
      return STEP;
    }

    @Override
    public Buffer dOut() {
      return new BufferHandle(plan.gradient(node));
    }

    @Override
    public Buffer dIn(int i) {
      int g = plan.gradient(node.inputs().get(i));
      return g < 0 ? null : new BufferHandle(g);
    }

    @Override
    public int accumulate(int i) {
      if (written == null) throw new IllegalStateException(node.name() + ": accumulate() outside backward");
      return written.add(node.inputs().get(i)) ? 0 : 1;
    }

    @Override
    public void launch(Kernel kernel, WorkItems items, Object... args) {
      int[] counts = items.counts(), group = items.group();
      if (kernel.hasGroupScratch()) {
        throw new IllegalArgumentException("node '" + node.name() + "': kernel " + kernel + " ends with a group scratch "
            + "array; launch it with launchGroups");
      }
      if (group != null) {
        long groupSize = 1;
        for (int g : group) groupSize *= g;
        if (groupSize > device.maxWorkGroupSize()) {
          throw new IllegalArgumentException(String.format(Locale.ROOT, "node '%s', kernel %s: a work-group of %s (%d "
              + "work-items) is more than the device allows (%d)", node.name(), kernel.function(),
              java.util.Arrays.toString(group), groupSize, device.maxWorkGroupSize()));
        }
      }
      out.add(new Launch.Grid(node.name(), kernel, args(kernel, args), counts, group));
    }

    @Override
    public void launchGroups(Kernel kernel, int groups, Object... args) {
      if (groups < 1) throw new IllegalArgumentException(node.name() + ": " + kernel.function() + " needs at least one group");
      if (!kernel.hasGroupScratch()) {
        throw new IllegalArgumentException("node '" + node.name() + "': kernel " + kernel + " has no group scratch "
            + "parameter, which a launch in groups supplies last");
      }
      out.add(new Launch.Rows(node.name(), kernel, args(kernel, args), groups));
    }

    @Override
    public void gemm(int batch, int sum, int m, int n, int k, float alpha, Matrix a, Matrix b, float beta, Matrix c,
        GemmEpilogue e) {
      if (batch < 1 || sum < 1 || sum > batch || m < 1 || n < 1 || k < 1) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "node '%s': gemm of batch %d summing %d, M %d, N %d, K %d",
            node.name(), batch, sum, m, n, k));
      }
      int groups = (batch + sum - 1) / sum;
      if (c.transposed() || (groups > 1 && c.batchStride() == 0)) {
        throw new IllegalArgumentException("node '" + node.name() + "': gemm writes C row-major, each group of the "
            + "batch at its own batch stride");
      }
      out.add(new Launch.Product(node.name(), batch, sum, m, n, k, alpha, operand(a), operand(b), beta, operand(c),
          e.bias() != null ? buffer(e.bias()) : buffer(c.buffer()), e.offset(), e.biasMode(), e.activation()));
    }

    private Launch.Operand operand(Matrix x) {
      return new Launch.Operand(buffer(x.buffer()), x.offset(), x.ld(), x.transposed(), x.batchStride());
    }

    private Launch.Buf buffer(Buffer b) {
      if (!(b instanceof BufferHandle h)) throw new IllegalArgumentException("node '" + node.name() + "': not a buffer of this plan");
      return new Launch.Buf(h.buffer());
    }

    private List<Arg> args(Kernel kernel, Object... values) {
      List<Arg> a = new ArrayList<>();
      for (int i = 0; i < values.length; i++) a.add(arg(values[i], i, node.name(), kernel));
      return checked(node.name(), kernel, a);
    }
  }
}
