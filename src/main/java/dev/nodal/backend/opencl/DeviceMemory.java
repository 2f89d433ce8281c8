package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import dev.nodal.backend.Counters;
import dev.nodal.plan.StepPlan;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_buffer_region;
import org.jocl.cl_mem;

/**
 * A plan's memory on one device: one buffer per region, and a sub-buffer for each view into a
 * flat block at a non-zero offset (the plan aligns those offsets to the device). Blocks start
 * zeroed, so the padding between parameters stays zero through every update. Transfers here are
 * blocking: they serve reads, checkpoints and set-up, never a step.
 */
final class DeviceMemory implements AutoCloseable {
  private final OpenClBackend backend;
  private final Counters counters;
  private final cl_mem[] regions;
  private final cl_mem[] views;

  DeviceMemory(OpenClBackend backend, StepPlan plan, Counters counters) {
    this.backend = backend;
    this.counters = counters;
    regions = new cl_mem[plan.regions().size()];
    views = new cl_mem[plan.buffers().size()];
    try {
      allocateAll(plan);
    } catch (RuntimeException e) {
      close(); // what was allocated before the failure
      throw e;
    }
  }

  private void allocateAll(StepPlan plan) {
    for (int r = 0; r < regions.length; r++) {
      StepPlan.Region region = plan.regions().get(r);
      regions[r] = allocate(region.name(), region.bytes());
      if (region.block()) fill(regions[r], 0f, region.bytes());
    }
    for (int b = 0; b < views.length; b++) {
      StepPlan.Buffer buf = plan.buffers().get(b);
      if (buf.offset() == 0) {
        views[b] = regions[buf.region()];
      } else {
        cl_buffer_region range = new cl_buffer_region(buf.offset(), buf.bytes());
        try {
          views[b] = clCreateSubBuffer(regions[buf.region()], CL_MEM_READ_WRITE, CL_BUFFER_CREATE_TYPE_REGION, range, null);
        } catch (CLException e) {
          throw backend.calls.failure("clCreateSubBuffer of " + buf.name() + " (offset " + buf.offset() + ")", e);
        }
        backend.liveBuffers.incrementAndGet();
      }
    }
  }

  /** A zeroed buffer of its own, outside the plan (optimizer state blocks). */
  cl_mem allocate(String name, long bytes) {
    backend.checkAllocation(name, bytes);
    try {
      backend.calls.before("clCreateBuffer");
      cl_mem m = clCreateBuffer(backend.context, CL_MEM_READ_WRITE, Math.max(4, bytes), null, null);
      counters.buffersAllocated++;
      backend.liveBuffers.incrementAndGet();
      return m;
    } catch (CLException e) {
      throw backend.calls.failure("clCreateBuffer of " + name + " (" + bytes + " bytes)", e);
    }
  }

  /** Frees a buffer that {@link #allocate} made. */
  void release(cl_mem m) {
    clReleaseMemObject(m);
    backend.liveBuffers.decrementAndGet();
  }

  /** The device memory of plan buffer {@code b}. */
  cl_mem buffer(int b) {
    return views[b];
  }

  void fill(cl_mem target, float value, long bytes) {
    try {
      clEnqueueFillBuffer(backend.queue, target, Pointer.to(new float[] {value}), Sizeof.cl_float, 0, bytes, 0, null, null);
    } catch (CLException e) {
      throw backend.calls.failure("clEnqueueFillBuffer", e);
    }
  }

  void write(cl_mem target, long floatOffset, float[] values) {
    try {
      backend.calls.before("clEnqueueWriteBuffer");
      clEnqueueWriteBuffer(backend.queue, target, CL_TRUE, 4L * floatOffset, 4L * values.length, Pointer.to(values), 0,
          null, null);
    } catch (CLException e) {
      throw backend.calls.failure("clEnqueueWriteBuffer", e);
    }
    counters.bytesToDevice += 4L * values.length;
    counters.hostSynchronisations++;
  }

  float[] read(cl_mem source, long floatOffset, int count) {
    float[] out = new float[count];
    try {
      backend.calls.before("clEnqueueReadBuffer");
      clEnqueueReadBuffer(backend.queue, source, CL_TRUE, 4L * floatOffset, 4L * count, Pointer.to(out), 0, null, null);
    } catch (CLException e) {
      throw backend.calls.failure("clEnqueueReadBuffer", e);
    }
    counters.bytesFromDevice += 4L * count;
    counters.hostSynchronisations++;
    return out;
  }

  /** Frees the views first, then the regions they point into. */
  @Override
  public void close() {
    for (int b = 0; b < views.length; b++) {
      if (views[b] != null && !isRegion(views[b])) release(views[b]);
    }
    for (cl_mem m : regions) if (m != null) release(m);
  }

  private boolean isRegion(cl_mem m) {
    for (cl_mem r : regions) if (r == m) return true;
    return false;
  }
}
