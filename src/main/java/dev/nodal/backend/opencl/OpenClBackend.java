package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import dev.nodal.backend.BackendBase;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Graph;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;

/**
 * One OpenCL device: its context, one in-order command queue and the program cache. Sessions
 * compiled here share the queue; closing the backend closes them first.
 */
public final class OpenClBackend extends BackendBase {
  final DeviceInfo device;
  final cl_context context;
  final cl_command_queue queue;
  final ProgramCache programs;

  // clCreateCommandQueue is deprecated since OpenCL 2.0 but is the call that OpenCL 1.2 devices
  // (NVIDIA's among them) and newer ones all accept.
  @SuppressWarnings("deprecation")
  public OpenClBackend(DeviceInfo device) {
    this.device = device;
    cl_context_properties props = new cl_context_properties();
    props.addProperty(CL_CONTEXT_PLATFORM, device.platform());
    this.context = clCreateContext(props, 1, new cl_device_id[] {device.device()}, null, null, null);
    this.queue = clCreateCommandQueue(context, device.device(), 0, null);
    this.programs = new ProgramCache(context, device);
  }

  public DeviceInfo device() {
    return device;
  }

  @Override
  public String name() {
    return device.id() + " " + device.name();
  }

  @Override
  protected SessionBase newSession(Graph graph, CompileOptions options) {
    return new OpenClSession(this, graph, options);
  }

  /**
   * Builds one file of {@code kernels/} with its default defines, from the cache when it was built
   * before (native-check builds every file this way).
   *
   * @throws KernelBuildException with the device's full build log
   */
  public void build(String kernelFile) {
    programs.get(kernelFile, "");
  }

  /** Program builds so far on this backend (each distinct source and options once). */
  public long programBuilds() {
    return programs.builds();
  }

  @Override
  protected void release() {
    programs.close();
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
  }
}
