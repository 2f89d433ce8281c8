package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;
import dev.nodal.plan.Launch;
import dev.nodal.plan.Planner;
import dev.nodal.plan.StepPlan;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_event;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * A graph compiled for one OpenCL device: the executor of a {@link StepPlan}.
 *
 * <p>At compile time the plan's memory is allocated ({@link DeviceMemory}), parameters are
 * uploaded into their block, the loss's gradient is seeded with 1 once, every gemm program is
 * built and its kernel checked against the device's limits. For each batch size met, the plan's
 * forward and backward launches become a {@link Replay} with every argument set. A step then
 * uploads inputs (non-blocking, from direct staging buffers), replays the launches on the
 * backend's in-order queue and reads back only the loss: one host synchronisation, no device
 * allocation, no build, no fill.
 */
final class OpenClSession extends SessionBase {
  private final OpenClBackend backend;
  private final Planner planner;
  private final StepPlan plan;
  private final DeviceMemory memory;
  private final Map<Integer, Replay[]> stepsByBatch = new HashMap<>();
  private final FloatBuffer[] staging;
  private final cl_event[] uploadEvents;
  private final float[] lossHost = new float[1];
  private cl_mem[] state = new cl_mem[0];
  private Replay update;

  OpenClSession(OpenClBackend backend, Graph graph, CompileOptions options) {
    super(graph, options);
    this.backend = backend;
    this.planner = new Planner(graph, maxBatch, options.keepRule(), backend.traits());
    this.plan = planner.plan();
    backend.checkTotal(plan.regionBytes());
    int n = graph.nodes().size();
    staging = new FloatBuffer[n];
    uploadEvents = new cl_event[n];
    this.memory = new DeviceMemory(backend, plan, counters);
    try {
      initialise();
    } catch (RuntimeException e) {
      release(); // a failed compile keeps nothing on the device
      throw e;
    }
  }

  /**
   * Makes the inputs' pinned staging buffers, uploads the parameters, seeds the loss gradient,
   * builds every program and records the step of maxBatch.
   */
  private void initialise() {
    for (Input in : graph.inputs()) {
      long bytes = 4L * in.shape().size(maxBatch);
      if (bytes > Integer.MAX_VALUE) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "input '%s': a batch of %d needs %,d bytes of staging, more than "
            + "one Java buffer holds (2 GiB); compile for a smaller batch (maxBatch, --batch-size)", in.name(), maxBatch,
            bytes));
      }
      staging[in.id()] = ByteBuffer.allocateDirect((int) bytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
    for (Param p : graph.params()) {
      memory.write(memory.buffer(plan.value(p)), 0, p.initialValues());
    }
    for (State st : graph.states()) {
      memory.write(memory.buffer(plan.value(st)), 0, st.initialValues());
    }
    Node loss = graph.loss();
    if (loss != null && plan.gradient(loss) >= 0) memory.write(memory.buffer(plan.gradient(loss)), 0, new float[] {1f});

    // Build every program a step may need now: a smaller last batch may pick other gemm tiles.
    for (GemmConfig c : GemmConfig.candidates(backend.gemm())) {
      cl_kernel k = clCreateKernel(backend.programs.get("gemm.cl", c.defines()), "gemm", null);
      try {
        Replay.checkGroupSize(backend, k, (long) c.threadsM() * c.threadsN(), "gemm.cl with " + c.defines());
      } finally {
        clReleaseKernel(k);
      }
    }
    steps(maxBatch, graph.loss() != null);
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
    try {
      backend.calls.before("clEnqueueWriteBuffer");
      clEnqueueWriteBuffer(backend.queue, memory.buffer(plan.value(input)), CL_FALSE, 0, 4L * data.length,
          Pointer.to(buf), 0, null, done);
    } catch (CLException e) {
      uploadEvents[id] = null;
      throw backend.calls.failure("clEnqueueWriteBuffer of input '" + input.name() + "'", e);
    }
    uploadEvents[id] = done;
    counters.bytesToDevice += 4L * data.length;
  }

  /** The forward and backward replays of a batch size and mode, made on first use. */
  private Replay[] steps(int batch, boolean training) {
    return stepsByBatch.computeIfAbsent(training ? batch : -batch - 1, key -> {
      StepPlan.Steps s = planner.steps(batch, training);
      Replay forward = replay(s.forward());
      try {
        return new Replay[] {forward, replay(s.backward())};
      } catch (RuntimeException e) {
        forward.close();
        throw e;
      }
    });
  }

  private Replay replay(List<Launch> launches) {
    return new Replay(backend, backend.lowering.lower(launches), arg -> arg instanceof Launch.Buf b ? memory.buffer(b.buffer())
        : state[((Launch.Slot) arg).slot()]);
  }

  @Override
  protected void runForward(int n, boolean training) {
    Replay forward = steps(n, training)[0];
    forward.setStep(passStep());
    counters.kernelsEnqueued += forward.enqueue();
  }

  @Override
  protected void runBackward(int n) {
    Replay backward = steps(n, true)[1];
    backward.setStep(passStep());
    counters.kernelsEnqueued += backward.enqueue();
  }

  @Override
  protected void installOptimizer(Optimizer opt) {
    releaseOptimizer();
    long bytes = 4L * plan.blockFloats();
    cl_mem[] slots = new cl_mem[opt.stateSlots()];
    try {
      for (int s = 0; s < slots.length; s++) {
        slots[s] = memory.allocate("state" + s, bytes);
        memory.fill(slots[s], 0f, Math.max(4, bytes));
      }
      state = slots;
      update = replay(planner.update(opt));
    } catch (RuntimeException e) {
      for (cl_mem m : slots) if (m != null) memory.release(m);
      state = new cl_mem[0];
      throw e;
    }
  }

  @Override
  protected void runUpdate() {
    update.setHyper(optimizer.hyperParameters());
    counters.kernelsEnqueued += update.enqueue();
  }

  @Override
  protected float readLoss() {
    try {
      backend.calls.before("clEnqueueReadBuffer");
      clEnqueueReadBuffer(backend.queue, memory.buffer(plan.value(graph.loss())), CL_TRUE, 0, Sizeof.cl_float,
          Pointer.to(lossHost), 0, null, null);
    } catch (CLException e) {
      throw backend.calls.failure("clEnqueueReadBuffer of the loss", e);
    }
    counters.bytesFromDevice += Sizeof.cl_float;
    counters.hostSynchronisations++;
    return lossHost[0];
  }

  @Override
  protected float[] readValue(Node node, int count) {
    return memory.read(memory.buffer(plan.value(node)), 0, count);
  }

  @Override
  protected float[] readGradient(Node node, int count) {
    return memory.read(memory.buffer(plan.gradient(node)), 0, count);
  }

  /** A parameter's place, in floats, in the parameters, gradients and state blocks alike. */
  private int offset(Param p) {
    return (int) (plan.buffers().get(plan.value(p)).offset() / 4);
  }

  @Override
  protected void readGradients(float[] packed) {
    float[] block = memory.read(memory.buffer(plan.block("gradients")), 0, plan.blockFloats());
    int at = 0;
    for (Param p : graph.params()) {
      int n = p.shape().exampleSize();
      System.arraycopy(block, offset(p), packed, at, n);
      at += n;
    }
  }

  @Override
  protected void writeGradients(float[] packed) {
    float[] block = new float[plan.blockFloats()]; // the padding between parameters stays zero
    int at = 0;
    for (Param p : graph.params()) {
      int n = p.shape().exampleSize();
      System.arraycopy(packed, at, block, offset(p), n);
      at += n;
    }
    memory.write(memory.buffer(plan.block("gradients")), 0, block);
  }

  @Override
  protected void writeValue(Node node, float[] values) {
    memory.write(memory.buffer(plan.value(node)), 0, values);
  }

  @Override
  protected float[][] readOptimizerState(Param param, int index) {
    float[][] out = new float[state.length][];
    for (int s = 0; s < state.length; s++) out[s] = memory.read(state[s], offset(param), param.shape().exampleSize());
    return out;
  }

  @Override
  protected void writeOptimizerState(Param param, int index, float[][] values) {
    for (int s = 0; s < values.length; s++) memory.write(state[s], offset(param), values[s]);
  }

  @Override
  protected void awaitDevice() {
    clFinish(backend.queue);
    counters.hostSynchronisations++;
  }

  @Override
  protected long programBuilds() {
    return backend.programBuilds();
  }

  private void releaseOptimizer() {
    if (update != null) update.close();
    update = null;
    for (cl_mem m : state) memory.release(m);
    state = new cl_mem[0];
  }

  @Override
  protected void release() {
    try {
      clFinish(backend.queue);
    } catch (CLException e) {
      // A device that failed may fail this too; the objects below are released all the same.
    }
    for (cl_event e : uploadEvents) if (e != null) clReleaseEvent(e);
    for (Replay[] r : stepsByBatch.values()) for (Replay replay : r) replay.close();
    stepsByBatch.clear();
    releaseOptimizer();
    memory.close();
  }
}
