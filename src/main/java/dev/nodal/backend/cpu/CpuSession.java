package dev.nodal.backend.cpu;

import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.Pass;
import dev.nodal.graph.State;
import dev.nodal.tensor.Shape;
import dev.nodal.optim.Optimizer;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.plan.Planner;
import dev.nodal.plan.StepPlan;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuTensor;
import java.util.Arrays;
import java.util.List;

/**
 * A graph compiled for the CPU: the executor of the same {@link StepPlan} as on a device, in the
 * same order over the same memory sharing (one array per region of the plan; parameters, their
 * gradients and optimizer state in arrays of their own), so that code written against the CPU
 * runs unchanged on OpenCL. Ops add into gradients; the gradients an op writes first in a
 * backward pass are zeroed just before it ({@link StepPlan#firstWrites}), but for those an op
 * that {@link dev.nodal.graph.Op#overwritesGradients overwrites} sets whole ({@link Pass#overwrites}).
 * Tensor views are rebuilt only when the batch size changes.
 */
final class CpuSession extends SessionBase {
  private final StepPlan plan;
  private final List<Node> nodes;
  /** Per node, the gradients zeroed just before its backward. */
  private final int[][] zeroFirst;
  /** Per node, which of its inputs' gradients its op sets rather than adds to. */
  private final boolean[][] overwrites;
  private final float[][] values;
  private final float[][] grads;
  private final int[][] inputIds;
  /** The parameters whose gradient is final once node i's backward has run (its first user; a parameter no node uses, at node 0). */
  private final Param[][] finishedBy;
  private float[][][] optimizerState;
  private CpuTensor[] valueViews;
  private CpuTensor[] gradViews;
  private CpuTensor[][] inputViews;
  private CpuTensor[][] inputGradViews;
  private NodePass[] passes;
  private int viewBatch = -1;
  private boolean passTraining;
  private long passStep;
  private final float[][] regions;
  private final CpuContext cpu;

  CpuSession(Graph graph, CompileOptions options, CpuContext cpu) {
    super(graph, options);
    this.cpu = cpu;
    plan = new Planner(graph, maxBatch, options.keepRule(), DeviceTraits.CPU).plan();
    nodes = plan.order();
    int n = nodes.size();
    regions = new float[plan.regions().size()][];
    values = new float[n][];
    grads = new float[n][];
    inputIds = new int[n][];
    zeroFirst = new int[n][];
    overwrites = new boolean[n][];
    for (Node node : nodes) {
      int id = node.id();
      values[id] = node instanceof Param p ? p.initialValues()
          : node instanceof State st ? st.initialValues() : storage(plan.value(node));
      if (plan.gradient(node) >= 0) {
        grads[id] = node instanceof Param p ? new float[p.shape().exampleSize()] : storage(plan.gradient(node));
      }
      inputIds[id] = node.inputs().stream().mapToInt(Node::id).toArray();
      overwrites[id] = node instanceof Apply a ? overwrites(a) : new boolean[0];
      List<Node> setByOp = new java.util.ArrayList<>();
      for (int j = 0; j < overwrites[id].length; j++) if (overwrites[id][j]) setByOp.add(node.inputs().get(j));
      zeroFirst[id] = plan.firstWrites(node).stream().filter(w -> !setByOp.contains(w)).mapToInt(Node::id).toArray();
    }
    if (graph.loss() != null && grads[graph.loss().id()] != null) grads[graph.loss().id()][0] = 1f;
    counters.buffersAllocated = n;
    int[] firstUse = new int[n];
    for (Node node : nodes) for (Node in : node.inputs()) if (firstUse[in.id()] == 0) firstUse[in.id()] = node.id();
    List<List<Param>> finished = new java.util.ArrayList<>();
    for (int i = 0; i < n; i++) finished.add(new java.util.ArrayList<>());
    for (Param p : graph.params()) finished.get(firstUse[p.id()]).add(p); // unused: 0, the pass's last node
    finishedBy = new Param[n][];
    for (int i = 0; i < n; i++) finishedBy[i] = finished.get(i).toArray(new Param[0]);
  }

  /** The array of a plan buffer's region, allocated on first use. */
  private float[] storage(int buffer) {
    int r = plan.buffers().get(buffer).region();
    if (regions[r] == null) regions[r] = new float[(int) (plan.regions().get(r).bytes() / 4)];
    return regions[r];
  }

  @Override
  protected void upload(Input input, float[] data, int n) {
    System.arraycopy(data, 0, values[input.id()], 0, data.length);
  }

  private void ensureViews(int batch) {
    if (batch == viewBatch) return;
    int n = nodes.size();
    valueViews = new CpuTensor[n];
    gradViews = new CpuTensor[n];
    for (Node node : nodes) {
      var shape = node.shape().resolve(batch);
      valueViews[node.id()] = new CpuTensor(values[node.id()], shape);
      if (grads[node.id()] != null) gradViews[node.id()] = new CpuTensor(grads[node.id()], shape);
    }
    inputViews = new CpuTensor[n][];
    inputGradViews = new CpuTensor[n][];
    passes = new NodePass[n];
    for (int id = 0; id < n; id++) {
      inputViews[id] = gather(valueViews, id);
      inputGradViews[id] = gather(gradViews, id);
      if (nodes.get(id) instanceof Apply a) passes[id] = new NodePass(workViews(a, batch), overwrites[id]);
    }
    viewBatch = batch;
  }

  /**
   * Which inputs' gradients node a's op sets rather than adds to: those it writes first, where the
   * op {@link dev.nodal.graph.Op#overwritesGradients overwrites} and the input is not also another
   * of its inputs. They are left out of the gradients zeroed before its backward.
   */
  private boolean[] overwrites(Apply a) {
    List<Node> inputs = a.inputs();
    boolean[] out = new boolean[inputs.size()];
    if (!a.op().overwritesGradients()) return out;
    for (int j = 0; j < out.length; j++) {
      Node in = inputs.get(j);
      out[j] = inputs.indexOf(in) == inputs.lastIndexOf(in) && plan.firstWrites(a).contains(in);
    }
    return out;
  }

  /** Views of a node's workspace buffers, shaped as its op declares for this batch. */
  private CpuTensor[] workViews(Apply a, int batch) {
    int[] buffers = plan.work(a);
    List<Shape> shapes = a.op().workspace(a.inputs().stream().map(Node::shape).toArray(Shape[]::new));
    CpuTensor[] work = new CpuTensor[buffers.length];
    for (int i = 0; i < work.length; i++) work[i] = new CpuTensor(storage(buffers[i]), shapes.get(i).resolve(batch));
    return work;
  }

  /**
   * The pass every op of this session sees: the session's mode and step, the node's own workspace,
   * the backend's CPU context.
   */
  private final class NodePass implements Pass {
    private final CpuTensor[] work;
    private final boolean[] overwrites;

    NodePass(CpuTensor[] work, boolean[] overwrites) {
      this.work = work;
      this.overwrites = overwrites;
    }

    @Override
    public boolean overwrites(int input) {
      return overwrites[input];
    }

    @Override
    public boolean training() {
      return passTraining;
    }

    @Override
    public long step() {
      return passStep;
    }

    @Override
    public CpuTensor work(int i) {
      return work[i];
    }

    @Override
    public CpuContext cpu() {
      return cpu;
    }
  }

  @Override
  protected void runForward(int n, boolean training) {
    ensureViews(n);
    passTraining = training;
    passStep = passStep();
    for (Node node : nodes) {
      if (node instanceof Apply a) a.op().forward(passes[node.id()], inputViews[node.id()], valueViews[node.id()]);
    }
  }

  @Override
  protected void runBackward(int n) {
    runBackward(n, NOBODY);
  }

  /** Tells {@code ready} of each parameter after the backward of its first use in the graph's order. */
  @Override
  protected void runBackward(int n, GradientReady ready) {
    ensureViews(n);
    passTraining = true;
    for (int i = nodes.size() - 1; i >= 0; i--) {
      if (gradViews[i] != null && nodes.get(i) instanceof Apply a) {
        for (int first : zeroFirst[i]) gradViews[first].fill(0f);
        a.op().backward(passes[i], inputViews[i], valueViews[i], gradViews[i], inputGradViews[i]);
      }
      for (Param p : finishedBy[i]) ready.ready(p, grads[p.id()], 0);
    }
  }

  private CpuTensor[] gather(CpuTensor[] views, int id) {
    int[] ids = inputIds[id];
    CpuTensor[] out = new CpuTensor[ids.length];
    for (int k = 0; k < ids.length; k++) out[k] = views[ids[k]];
    return out;
  }

  @Override
  protected void installOptimizer(Optimizer opt) {
    List<Param> params = graph.params();
    optimizerState = new float[params.size()][opt.stateSlots()][];
    for (int i = 0; i < params.size(); i++) {
      for (int s = 0; s < opt.stateSlots(); s++) optimizerState[i][s] = new float[params.get(i).shape().exampleSize()];
    }
  }

  @Override
  protected void runUpdate() {
    List<Param> params = graph.params();
    float scale = 1f;
    if (optimizer.clipNorm() > 0) {
      double sumSq = 0;
      for (Param p : params) for (float g : grads[p.id()]) sumSq += (double) g * g;
      scale = (float) Math.min(1.0, optimizer.clipNorm() / (Math.sqrt(sumSq) + 1e-6));
    }
    for (int i = 0; i < params.size(); i++) {
      Param p = params.get(i);
      optimizer.update(values[p.id()], grads[p.id()], scale, optimizerState[i], p.shape().exampleSize());
    }
  }

  @Override
  protected float readLoss() {
    return values[graph.loss().id()][0];
  }

  @Override
  protected float[] readValue(Node node, int count) {
    return Arrays.copyOf(values[node.id()], count);
  }

  @Override
  protected float[] readGradient(Node node, int count) {
    return Arrays.copyOf(grads[node.id()], count);
  }

  @Override
  protected void readGradients(float[] packed) {
    int at = 0;
    for (Param p : graph.params()) {
      int n = p.shape().exampleSize();
      System.arraycopy(grads[p.id()], 0, packed, at, n);
      at += n;
    }
  }

  @Override
  protected void writeGradients(float[] packed) {
    int at = 0;
    for (Param p : graph.params()) {
      int n = p.shape().exampleSize();
      System.arraycopy(packed, at, grads[p.id()], 0, n);
      at += n;
    }
  }

  @Override
  protected void writeValue(Node node, float[] v) {
    System.arraycopy(v, 0, values[node.id()], 0, v.length);
  }

  @Override
  protected float[][] readOptimizerState(Param param, int index) {
    float[][] state = optimizerState[index];
    float[][] copy = new float[state.length][];
    for (int s = 0; s < state.length; s++) copy[s] = state[s].clone();
    return copy;
  }

  @Override
  protected void writeOptimizerState(Param param, int index, float[][] state) {
    for (int s = 0; s < state.length; s++) System.arraycopy(state[s], 0, optimizerState[index][s], 0, state[s].length);
  }

  @Override
  protected void release() {}
}
