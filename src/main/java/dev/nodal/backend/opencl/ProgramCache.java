package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import java.util.HashMap;
import java.util.Map;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.cl_context;
import org.jocl.cl_device_id;
import org.jocl.cl_program;

/**
 * Built programs of one context, keyed by device, driver version, source hash and build options
 * (the {@code -cl-std} from the device's OpenCL C version, then the {@code -D} defines). Each
 * distinct key is built once.
 */
final class ProgramCache implements AutoCloseable {
  private final cl_context context;
  private final DeviceInfo device;
  private final Map<String, cl_program> programs = new HashMap<>();
  private final DriverCalls calls;
  private long builds;

  ProgramCache(cl_context context, DeviceInfo device, DriverCalls calls) {
    this.context = context;
    this.device = device;
    this.calls = calls;
  }

  /** Programs built so far (each distinct key once). */
  long builds() {
    return builds;
  }

  /** The build options for a set of defines such as {@code -DTILE_M=64}. */
  String options(String defines) {
    return (device.clStdOption() + " " + defines).trim();
  }

  /** The program of {@code kernels/<file>} built with {@code defines}; builds on first use. */
  synchronized cl_program get(String file, String defines) {
    String options = options(defines);
    String key = device.id() + "|" + device.name() + "|" + device.driverVersion() + "|" + KernelSources.hash(file) + "|"
        + options;
    cl_program p = programs.get(key);
    if (p == null) {
      p = build(file, options);
      programs.put(key, p);
    }
    return p;
  }

  private cl_program build(String file, String options) {
    cl_program program = clCreateProgramWithSource(context, 1, new String[] {KernelSources.source(file)}, null, null);
    builds++;
    try {
      calls.before("clBuildProgram");
      clBuildProgram(program, 1, new cl_device_id[] {device.device()}, options, null, null);
    } catch (CLException e) {
      String log = buildLog(program);
      clReleaseProgram(program);
      throw new KernelBuildException(file, options, device.toString() + " (driver " + device.driverVersion() + ")", log, e);
    }
    return program;
  }

  private String buildLog(cl_program program) {
    try {
      return readBuildLog(program);
    } catch (CLException e) {
      return "(no build log: " + e.getMessage() + ")";
    }
  }

  private String readBuildLog(cl_program program) {
    long[] size = new long[1];
    clGetProgramBuildInfo(program, device.device(), CL_PROGRAM_BUILD_LOG, 0, null, size);
    byte[] buf = new byte[(int) size[0]];
    clGetProgramBuildInfo(program, device.device(), CL_PROGRAM_BUILD_LOG, buf.length, Pointer.to(buf), null);
    return new String(buf, 0, Math.max(0, buf.length - 1), java.nio.charset.StandardCharsets.UTF_8);
  }

  @Override
  public void close() {
    for (cl_program p : programs.values()) clReleaseProgram(p);
    programs.clear();
  }
}
