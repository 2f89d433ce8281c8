package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import dev.nodal.plan.Launch;
import dev.nodal.plan.Launch.Arg;
import java.util.List;
import java.util.function.Function;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;

/**
 * A list of a plan's launches, lowered ({@link Lowering}), made ready to run: one kernel object
 * per launch with every argument set once, enqueued in order on each call. Only {@link Launch.Hyper} and {@link Launch.Step}
 * arguments are set again, and only when their value changed.
 */
final class Replay implements AutoCloseable {
  private final OpenClBackend backend;
  private final List<ClLaunch> launches;
  private final cl_kernel[] kernels;
  /** Where the {@link Launch.Hyper} arguments are: {kernel, argument, hyper-parameter} each. */
  private final List<int[]> hyperSlots = new java.util.ArrayList<>();
  /** The hyper-parameters as last set; NaN (never equal) before the first call. */
  private float[] hyperSet = new float[0];
  private final float[] scalar = new float[1];
  /** Where the {@link Launch.Step} arguments are: {kernel, argument} each. */
  private final List<int[]> stepSlots = new java.util.ArrayList<>();
  private long stepSet = Long.MIN_VALUE;
  private final int[] stepValue = new int[1];

  /** {@code memory} resolves {@link Launch.Buf} and {@link Launch.Slot} arguments. */
  Replay(OpenClBackend backend, List<ClLaunch> launches, Function<Arg, cl_mem> memory) {
    this.backend = backend;
    this.launches = launches;
    this.kernels = new cl_kernel[launches.size()];
    try {
      prepare(memory);
    } catch (CLException e) {
      close(); // the kernels made before the failure
      throw backend.calls.failure("clCreateKernel or clSetKernelArg", e);
    } catch (RuntimeException e) {
      close();
      throw e;
    }
  }

  private void prepare(Function<Arg, cl_mem> memory) {
    for (int i = 0; i < kernels.length; i++) {
      ClLaunch l = launches.get(i);
      cl_kernel k = clCreateKernel(backend.programs.get(l.file(), l.defines()), l.function(), null);
      kernels[i] = k;
      checkGroupSize(k, l);
      for (int a = 0; a < l.args().size(); a++) {
        Object arg = l.args().get(a);
        if (arg instanceof Launch.I32 v) {
          clSetKernelArg(k, a, Sizeof.cl_int, Pointer.to(new int[] {v.value()}));
        } else if (arg instanceof Launch.F32 v) {
          clSetKernelArg(k, a, Sizeof.cl_float, Pointer.to(new float[] {v.value()}));
        } else if (arg instanceof ClLaunch.Local v) {
          clSetKernelArg(k, a, v.bytes(), null);
        } else if (arg instanceof Launch.Hyper h) {
          hyperSlots.add(new int[] {i, a, h.index()});
        } else if (arg instanceof Launch.Step) {
          stepSlots.add(new int[] {i, a});
        } else {
          clSetKernelArg(k, a, Sizeof.cl_mem, Pointer.to(memory.apply((Arg) arg)));
        }
      }
    }
  }

  private void checkGroupSize(cl_kernel k, ClLaunch l) {
    long group = 1;
    for (long d : l.local()) group *= d;
    checkGroupSize(backend, k, group, l.describe());
  }

  /** Refuses a kernel whose work-groups of {@code group} items this device cannot run. */
  static void checkGroupSize(OpenClBackend backend, cl_kernel k, long group, String what) {
    long[] max = new long[1];
    clGetKernelWorkGroupInfo(k, backend.device.device(), CL_KERNEL_WORK_GROUP_SIZE, Sizeof.size_t, Pointer.to(max), null);
    if (group > max[0]) {
      throw new IllegalStateException(what + " needs " + group + " work-items per group, but " + backend.name()
          + " allows " + max[0] + " for it");
    }
  }

  /** Sets the hyper-parameters that changed since the last call. */
  void setHyper(float[] hyper) {
    if (hyperSet.length != hyper.length) {
      hyperSet = new float[hyper.length];
      java.util.Arrays.fill(hyperSet, Float.NaN);
    }
    for (int[] slot : hyperSlots) {
      float v = hyper[slot[2]];
      if (Float.compare(hyperSet[slot[2]], v) != 0) {
        scalar[0] = v; // clSetKernelArg copies the value: one array serves every call
        clSetKernelArg(kernels[slot[0]], slot[1], Sizeof.cl_float, Pointer.to(scalar));
      }
    }
    System.arraycopy(hyper, 0, hyperSet, 0, hyper.length);
  }

  /** Sets the step arguments, when the step changed since the last call (and there are any). */
  void setStep(long step) {
    if (step == stepSet || stepSlots.isEmpty()) return;
    stepValue[0] = (int) step;
    for (int[] slot : stepSlots) clSetKernelArg(kernels[slot[0]], slot[1], Sizeof.cl_int, Pointer.to(stepValue));
    stepSet = step;
  }

  /** Enqueues every launch in order; returns how many. */
  int enqueue() {
    int i = 0;
    try {
      for (; i < kernels.length; i++) {
        ClLaunch l = launches.get(i);
        backend.calls.before("clEnqueueNDRangeKernel");
        clEnqueueNDRangeKernel(backend.queue, kernels[i], l.global().length, null, l.global(), l.local(), 0, null, null);
      }
    } catch (CLException e) {
      ClLaunch l = launches.get(i);
      throw backend.calls.failure("clEnqueueNDRangeKernel of " + l.function() + " (node " + l.node() + ")", e);
    }
    return kernels.length;
  }

  @Override
  public void close() {
    for (cl_kernel k : kernels) if (k != null) clReleaseKernel(k);
  }
}
