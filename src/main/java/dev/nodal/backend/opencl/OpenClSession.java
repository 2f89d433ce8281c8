package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.tensor.Shape;
import dev.nodal.graph.Launcher;
import dev.nodal.optim.Optimizer;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * A graph compiled for one OpenCL device.
 *
 * <p>At compile time: every node's value and every needed gradient becomes a logical buffer with
 * a lifetime on the step's timeline (forward of node i at time i, its backward at 2n−1−i); the
 * {@link BufferPlanner} maps them onto as few device buffers as it can, which are allocated once.
 * For each batch size met, the forward and backward kernel lists are recorded once with every
 * argument set. A step then uploads inputs (non-blocking, from pinned staging buffers), enqueues
 * the recorded commands on the backend's in-order queue and reads back only the loss: one host
 * synchronisation, no allocation, no build, no clFinish.
 */
final class OpenClSession extends SessionBase {
  private final OpenClBackend backend;
  private final List<Node> nodes;
  private final int[] valueBuf;
  private final int[] gradBuf;
  private final int[] physicalOf;
  private final cl_mem[] physical;
  private final Map<Integer, Steps> stepsByBatch = new HashMap<>();
  private final List<cl_kernel> kernels = new ArrayList<>();
  private final FloatBuffer[] staging;
  private final cl_event[] uploadEvents;
  private final float[] lossHost = new float[1];
  private cl_mem[][] optimizerState = new cl_mem[0][];
  private cl_kernel[] updateKernels = new cl_kernel[0];
  private Command[] updates = new Command[0];
  private float[] hyperSet;

  /** One enqueued command of a recorded step. */
  private interface Command {
    void enqueue();
  }

  private record Steps(Command[] forward, Command[] backward) {}

  private record Buf(int logical) implements Launcher.Buffer {}

  OpenClSession(OpenClBackend backend, Graph graph, CompileOptions options) {
    super(graph, options);
    this.backend = backend;
    this.nodes = graph.nodes();
    int n = nodes.size();
    valueBuf = new int[n];
    gradBuf = new int[n];
    Arrays.fill(gradBuf, -1);

    BufferPlanner planner = new BufferPlanner();
    for (Node node : nodes) {
      long bytes = 4L * Math.max(1, node.shape().size(maxBatch));
      valueBuf[node.id()] = isValueKept(node)
          ? planner.add(bytes, BufferPlanner.ALWAYS, 0)
          : planner.add(bytes, node.id(), valueEnd(node));
      if (graph.needsGradient(node)) {
        gradBuf[node.id()] = isGradientKept(node)
            ? planner.add(bytes, BufferPlanner.ALWAYS, 0)
            : planner.add(bytes, gradientStart(node), backwardTime(node));
      }
    }
    BufferPlanner.Plan plan = planner.plan();
    physicalOf = plan.physicalOf();
    physical = new cl_mem[plan.physicalBytes().length];
    for (int p = 0; p < physical.length; p++) physical[p] = allocate(plan.physicalBytes()[p]);

    staging = new FloatBuffer[n];
    uploadEvents = new cl_event[n];
    for (Input in : graph.inputs()) {
      staging[in.id()] = ByteBuffer.allocateDirect(4 * in.shape().size(maxBatch)).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
    for (Param p : graph.params()) write(mem(valueBuf[p.id()]), p.initialValues());

    // Build every program a step may need now: a smaller last batch may pick other gemm tiles.
    for (GemmConfig c : GemmConfig.candidates(backend.device)) backend.programs.get("gemm.cl", c.defines());
    steps(maxBatch);

  }

  // ---- lifetimes -------------------------------------------------------------------------------

  private int backwardTime(Node node) {
    return 2 * nodes.size() - 1 - node.id();
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

  /** A gradient is zeroed just before the backward of its last consumer, the first to add to it. */
  private int gradientStart(Node node) {
    int start = Integer.MAX_VALUE;
    for (Node c : graph.consumers(node)) if (graph.needsGradient(c)) start = Math.min(start, backwardTime(c));
    return start;
  }

  // ---- device memory ---------------------------------------------------------------------------

  private cl_mem allocate(long bytes) {
    counters.buffersAllocated++;
    return clCreateBuffer(backend.context, CL_MEM_READ_WRITE, bytes, null, null);
  }

  private cl_mem mem(int logical) {
    return physical[physicalOf[logical]];
  }

  private void write(cl_mem mem, float[] values) {
    clEnqueueWriteBuffer(backend.queue, mem, CL_TRUE, 0, 4L * values.length, Pointer.to(values), 0, null, null);
    counters.bytesToDevice += 4L * values.length;
    counters.hostSynchronisations++;
  }

  private float[] read(cl_mem mem, int count) {
    float[] out = new float[count];
    clEnqueueReadBuffer(backend.queue, mem, CL_TRUE, 0, 4L * count, Pointer.to(out), 0, null, null);
    counters.bytesFromDevice += 4L * count;
    counters.hostSynchronisations++;
    return out;
  }

  @Override
  protected void upload(Input input, float[] data, int n) {
    int id = input.id();
    cl_event previous = uploadEvents[id];
    if (previous != null) {
      // The staging buffer may still be read by the last upload of this input.
      int[] status = new int[1];
      clGetEventInfo(previous, CL_EVENT_COMMAND_EXECUTION_STATUS, Sizeof.cl_int, Pointer.to(status), null);
      if (status[0] != CL_COMPLETE) {
        clWaitForEvents(1, new cl_event[] {previous});
        counters.hostSynchronisations++;
      }
      clReleaseEvent(previous);
    }
    FloatBuffer buf = staging[id];
    buf.clear();
    buf.put(data);
    buf.rewind();
    cl_event done = new cl_event();
    clEnqueueWriteBuffer(backend.queue, mem(valueBuf[id]), CL_FALSE, 0, 4L * data.length, Pointer.to(buf), 0, null, done);
    uploadEvents[id] = done;
    counters.bytesToDevice += 4L * data.length;
  }

  // ---- recording -------------------------------------------------------------------------------

  private Steps steps(int batch) {
    Steps s = stepsByBatch.get(batch);
    if (s == null) {
      s = record(batch);
      stepsByBatch.put(batch, s);
    }
    return s;
  }

  private Steps record(int batch) {
    List<Command> forward = new ArrayList<>();
    for (Node node : nodes) {
      if (node instanceof Apply a) a.op().forwardKernels(new NodeLauncher(a, batch, forward));
    }
    List<Command> backward = new ArrayList<>();
    Node loss = graph.loss();
    if (loss != null && graph.needsGradient(loss)) {
      backward.add(fill(gradBuf[loss.id()], 1f, 4));
      boolean[] zeroed = new boolean[nodes.size()];
      for (int i = nodes.size() - 1; i >= 0; i--) {
        if (gradBuf[i] < 0 || !(nodes.get(i) instanceof Apply a)) continue;
        for (Node in : a.inputs()) {
          if (gradBuf[in.id()] >= 0 && !zeroed[in.id()]) {
            backward.add(fill(gradBuf[in.id()], 0f, 4L * in.shape().size(batch)));
            zeroed[in.id()] = true;
          }
        }
        a.op().backwardKernels(new NodeLauncher(a, batch, backward));
      }
    }
    return new Steps(forward.toArray(new Command[0]), backward.toArray(new Command[0]));
  }

  private Command fill(int logical, float value, long bytes) {
    return fill(mem(logical), value, bytes);
  }

  private Command fill(cl_mem target, float value, long bytes) {
    float[] pattern = {value};
    return () -> clEnqueueFillBuffer(backend.queue, target, Pointer.to(pattern), Sizeof.cl_float, 0, bytes, 0, null, null);
  }

  private cl_kernel kernel(String file, String defines, String name) {
    cl_kernel k = clCreateKernel(backend.programs.get(file, defines), name, null);
    kernels.add(k);
    return k;
  }

  private void setArgs(cl_kernel k, int first, Object... args) {
    for (int i = 0; i < args.length; i++) {
      Object a = args[i];
      int idx = first + i;
      if (a instanceof Buf b) {
        clSetKernelArg(k, idx, Sizeof.cl_mem, Pointer.to(mem(b.logical())));
      } else if (a instanceof cl_mem m) {
        clSetKernelArg(k, idx, Sizeof.cl_mem, Pointer.to(m));
      } else if (a instanceof Integer v) {
        clSetKernelArg(k, idx, Sizeof.cl_int, Pointer.to(new int[] {v}));
      } else if (a instanceof Float v) {
        clSetKernelArg(k, idx, Sizeof.cl_float, Pointer.to(new float[] {v}));
      } else {
        throw new IllegalArgumentException("kernel argument " + idx + ": unsupported " + (a == null ? "null (a gradient "
            + "buffer that is not needed?)" : a.getClass().getSimpleName()));
      }
    }
  }

  private Command ndRange(cl_kernel k, long[] global, long[] local) {
    return () -> clEnqueueNDRangeKernel(backend.queue, k, global.length, null, global, local, 0, null, null);
  }

  /** One work-item per element: work-groups of 64, the global size rounded up to a multiple. */
  private Command oneDimensional(cl_kernel k, long workItems) {
    long local = Math.min(64, backend.device.maxWorkGroupSize());
    long global = (Math.max(1, workItems) + local - 1) / local * local;
    return ndRange(k, new long[] {global}, new long[] {local});
  }

  /** The largest power of two not above {@code limit}. */
  private static int powerOfTwoAtMost(long limit) {
    return Integer.highestOneBit((int) Math.max(1, Math.min(limit, 1 << 30)));
  }

  /** The {@link Launcher} that one node's op records its kernels through. */
  private final class NodeLauncher implements Launcher {
    private final Apply node;
    private final int batch;
    private final List<Command> out;

    NodeLauncher(Apply node, int batch, List<Command> out) {
      this.node = node;
      this.batch = batch;
      this.out = out;
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
      return new Buf(valueBuf[node.inputs().get(i).id()]);
    }

    @Override
    public Buffer out() {
      return new Buf(valueBuf[node.id()]);
    }

    @Override
    public Buffer dOut() {
      return new Buf(gradBuf[node.id()]);
    }

    @Override
    public Buffer dIn(int i) {
      int g = gradBuf[node.inputs().get(i).id()];
      return g < 0 ? null : new Buf(g);
    }

    @Override
    public void launch(String file, String name, WorkItems items, Object... args) {
      cl_kernel k = kernel(file, "", name);
      setArgs(k, 0, args);
      out.add(oneDimensional(k, items.count()));
    }

    @Override
    public void launchGroup(String file, String name, Object... args) {
      cl_kernel k = kernel(file, "", name);
      setArgs(k, 0, args);
      long[] kernelMax = new long[1];
      clGetKernelWorkGroupInfo(k, backend.device.device(), CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(kernelMax), null);
      int group = powerOfTwoAtMost(Math.min(256, Math.min(backend.device.maxWorkGroupSize(), kernelMax[0])));
      clSetKernelArg(k, args.length, (long) Sizeof.cl_float * group, null);
      out.add(ndRange(k, new long[] {group}, new long[] {group}));
    }

    @Override
    public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Buffer a, Buffer b, float beta,
        Buffer c) {
      GemmConfig gemm = GemmConfig.choose(backend.device, m, n);
      cl_kernel kern = kernel("gemm.cl", gemm.defines(), "gemm");
      int sAm = transA ? 1 : k, sAk = transA ? m : 1;
      int sBk = transB ? 1 : n, sBn = transB ? k : 1;
      setArgs(kern, 0, m, n, k, alpha, a, 0, sAm, sAk, b, 0, sBk, sBn, beta, c, 0, n);
      long[] global = {(long) ((n + gemm.tileN() - 1) / gemm.tileN()) * gemm.threadsN(),
          (long) ((m + gemm.tileM() - 1) / gemm.tileM()) * gemm.threadsM()};
      out.add(ndRange(kern, global, new long[] {gemm.threadsN(), gemm.threadsM()}));
    }
  }

  // ---- running ---------------------------------------------------------------------------------

  private void run(Command[] commands) {
    for (Command c : commands) c.enqueue();
    counters.kernelsEnqueued += commands.length;
  }

  @Override
  protected void runForward(int n) {
    run(steps(n).forward());
  }

  @Override
  protected void runBackward(int n) {
    run(steps(n).backward());
  }

  @Override
  protected void installOptimizer(Optimizer opt) {
    releaseOptimizer();
    List<Param> params = graph.params();
    optimizerState = new cl_mem[params.size()][opt.stateSlots()];
    updateKernels = new cl_kernel[params.size()];
    updates = new Command[params.size()];
    for (int i = 0; i < params.size(); i++) {
      Param p = params.get(i);
      int size = p.shape().exampleSize();
      Object[] args = new Object[3 + opt.stateSlots()];
      args[0] = new Buf(valueBuf[p.id()]);
      args[1] = new Buf(gradBuf[p.id()]);
      for (int s = 0; s < opt.stateSlots(); s++) {
        optimizerState[i][s] = allocate(4L * size);
        fill(optimizerState[i][s], 0f, 4L * size).enqueue();
        args[2 + s] = optimizerState[i][s];
      }
      args[2 + opt.stateSlots()] = size;
      updateKernels[i] = kernel(Optimizer.KERNEL_FILE, "", opt.kernel());
      setArgs(updateKernels[i], 0, args);
      updates[i] = oneDimensional(updateKernels[i], size);
    }
    hyperSet = null;
  }

  @Override
  protected void runUpdate() {
    float[] hyper = optimizer.hyperParameters();
    int first = 3 + optimizer.stateSlots();
    // Only arguments whose value changed (a scheduled learning rate) are set again.
    for (cl_kernel k : updateKernels) {
      for (int h = 0; h < hyper.length; h++) {
        if (hyperSet == null || hyper[h] != hyperSet[h]) setArgs(k, first + h, hyper[h]);
      }
    }
    run(updates);
    hyperSet = hyper;
  }

  @Override
  protected float readLoss() {
    clEnqueueReadBuffer(backend.queue, mem(valueBuf[graph.loss().id()]), CL_TRUE, 0, Sizeof.cl_float,
        Pointer.to(lossHost), 0, null, null);
    counters.bytesFromDevice += Sizeof.cl_float;
    counters.hostSynchronisations++;
    return lossHost[0];
  }

  @Override
  protected float[] readValue(Node node, int count) {
    return read(mem(valueBuf[node.id()]), count);
  }

  @Override
  protected float[] readGradient(Node node, int count) {
    return read(mem(gradBuf[node.id()]), count);
  }

  @Override
  protected void writeParam(Param param, float[] values) {
    write(mem(valueBuf[param.id()]), values);
  }

  @Override
  public float[][] optimizerState(Param param) {
    requireOpen();
    requireOptimizer();
    requireOwn(param);
    cl_mem[] slots = optimizerState[graph.params().indexOf(param)];
    float[][] out = new float[slots.length][];
    for (int s = 0; s < slots.length; s++) out[s] = read(slots[s], param.shape().exampleSize());
    return out;
  }

  @Override
  public void setOptimizerState(Param param, float[][] state) {
    int i = checkOptimizerState(param, state);
    for (int s = 0; s < state.length; s++) write(optimizerState[i][s], state[s]);
  }

  @Override
  public void sync() {
    requireOpen();
    clFinish(backend.queue);
    counters.hostSynchronisations++;
  }

  @Override
  protected long programBuilds() {
    return backend.programBuilds();
  }

  private void releaseOptimizer() {
    for (cl_mem[] slots : optimizerState) for (cl_mem m : slots) clReleaseMemObject(m);
    optimizerState = new cl_mem[0][];
  }

  @Override
  protected void release() {
    clFinish(backend.queue);
    for (cl_event e : uploadEvents) if (e != null) clReleaseEvent(e);
    for (cl_kernel k : kernels) clReleaseKernel(k);
    kernels.clear();
    releaseOptimizer();
    for (cl_mem m : physical) clReleaseMemObject(m);
  }
}
