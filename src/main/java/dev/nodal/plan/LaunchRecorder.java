package dev.nodal.plan;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Node;
import dev.nodal.optim.Optimizer;
import dev.nodal.plan.Launch.Arg;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The launches of a {@link StepPlan}: each op describes its kernels through a {@link Launcher},
 * and every launch is recorded with its arguments checked against the kernel's declared
 * parameters, so a wrong type or count is an error naming the node, the kernel and the argument;
 * plus the optimizer's update over the flat blocks. One of the {@link Planner}'s two jobs.
 */
final class LaunchRecorder {
  private final Graph graph;
  private final DeviceTraits device;
  private final StepPlan plan;

  LaunchRecorder(Graph graph, DeviceTraits device, StepPlan plan) {
    this.graph = graph;
    this.device = device;
    this.plan = plan;
  }

  private boolean runsBackward(Node node) {
    return graph.loss() != null && graph.needsGradient(node);
  }

  /**
   * The launches of a step at {@code batch} examples, in training or evaluation mode; a step in
   * evaluation mode has no backward launches (backward needs a forward in training mode).
   */
  StepPlan.Steps steps(int batch, boolean training) {
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
  List<Launch> update(Optimizer optimizer) {
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
