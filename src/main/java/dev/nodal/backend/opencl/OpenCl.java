package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.jocl.CL;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * Finds the OpenCL loader, platforms and devices. Each {@link #probe(OpenClOptions)} looks afresh
 * (after the first, which loads the driver, a few milliseconds) and keeps nothing: whoever wants
 * the answer again keeps the {@link Probe}.
 */
public final class OpenCl {
  private OpenCl() {}

  /**
   * What discovery found.
   *
   * @param loader the OpenCL loader JOCL loaded: on Linux the file found as {@code libOpenCL.so}
   *     and, when that is a link, the file it resolves to (off Linux, a phrase for JOCL's own search);
   *     null when none was loaded
   * @param searched the folders searched for {@code libOpenCL.so}, in the dynamic linker's order,
   *     comma-separated; null where nothing was searched (off Linux, or OpenCL disabled)
   * @param error null when the loader initialised; otherwise why OpenCL is unusable
   * @param fix what the user can do about {@code error}, or null
   * @param misconfigured true when the user's own setting is at fault ({@code NODAL_OPENCL_LIBRARY}
   *     names no loadable library, or not the one JOCL will open): an error even for {@code auto},
   *     never a fallback
   */
  public record Probe(String loader, String searched, String error, String fix, List<DeviceInfo> devices,
      boolean misconfigured) {
    public Probe(String loader, String searched, String error, String fix, List<DeviceInfo> devices) {
      this(loader, searched, error, fix, devices, false);
    }

    public boolean usable() {
      return error == null && !devices.isEmpty();
    }
  }

  /**
   * Discovers every platform and device as {@code options} say (disabled, the loader setting,
   * signal chaining); never throws.
   */
  public static Probe probe(OpenClOptions options) {
    return discover(options, null);
  }

  /**
   * The environment variable that, set to 1, makes OpenCL unavailable to Nodal, as on a machine
   * without it (CI's second pass): {@link OpenClOptions#disabled()}.
   */
  public static final String DISABLE = "NODAL_DISABLE_OPENCL";

  /** Discovery with driver errors injected where the driver would return them (for tests). */
  static Probe discover(OpenClOptions options, DriverCalls.Faults faults) {
    return discover(options, OpenClLoader.ofThisProcess(options.loaderLibrary()), faults);
  }

  /** Discovery of the default options with the loader search {@code loaders} (for tests). */
  static Probe discover(OpenClLoader loaders, DriverCalls.Faults faults) {
    return discover(OpenClOptions.defaults(), loaders, faults);
  }

  /**
   * Discovery with the loader search {@code loaders}. {@code org.jocl.CL} is touched only once that
   * search has found the file JOCL will open, since a failed attempt prints to stdout and leaves
   * {@code CL} unusable for the rest of the JVM.
   */
  static Probe discover(OpenClOptions options, OpenClLoader loaders, DriverCalls.Faults faults) {
    if (options.disabled()) {
      return new Probe(null, null, "OpenCL is disabled by " + DISABLE + "=1 (OpenClOptions.disabled())",
          "unset " + DISABLE, List.of());
    }
    String refusal = SignalChaining.refusal(options.unchained());
    if (refusal != null) return new Probe(null, null, refusal, SignalChaining.fix(), List.of());
    OpenClLoader.Result found = loaders.find();
    String searched = found.searchedText();
    if (found.error() != null) {
      return new Probe(null, searched, found.error(), found.fix(), List.of(), found.misconfigured());
    }
    String override = loaders.setting();
    boolean mine = override != null;
    try {
      CL.setExceptionsEnabled(true);
    } catch (UnsatisfiedLinkError | NoClassDefFoundError e) {
      return new Probe(null, searched, "the OpenCL loader " + (found.library() == null ? "" : found.describe() + " ")
          + "could not be loaded: " + e.getMessage(), mine ? "run through ./nodal, which links " + OpenClLoader.SETTING
          + " as libOpenCL.so, or put such a link first in LD_LIBRARY_PATH; or unset it" : "install an OpenCL loader and driver (Debian/Ubuntu: apt-get install ocl-icd-libopencl1 "
          + "ocl-icd-opencl-dev plus a driver such as pocl-opencl-icd or the GPU vendor's); run "
          + "native-check/native-check for details", List.of(), mine);
    }
    String loader = found.describe();
    List<DeviceInfo> devices = new ArrayList<>();
    try {
      int[] count = new int[1];
      new DriverCalls("discovery", faults).before("clGetPlatformIDs");
      int rc = clGetPlatformIDs(0, null, count);
      if (rc != CL_SUCCESS || count[0] == 0) return noPlatform(loader, searched);
      cl_platform_id[] platforms = new cl_platform_id[count[0]];
      clGetPlatformIDs(platforms.length, platforms, null);
      for (int p = 0; p < platforms.length; p++) {
        int[] n = new int[1];
        try {
          clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, 0, null, n);
        } catch (org.jocl.CLException e) {
          continue; // CL_DEVICE_NOT_FOUND: a platform without devices
        }
        cl_device_id[] ids = new cl_device_id[n[0]];
        clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, ids.length, ids, null);
        for (int d = 0; d < ids.length; d++) devices.add(describe(p, d, platforms[p], ids[d]));
      }
    } catch (org.jocl.CLException e) {
      if (e.getStatus() == CL_PLATFORM_NOT_FOUND_KHR) return noPlatform(loader, searched);
      return new Probe(loader, searched, "OpenCL discovery failed: " + e.getMessage(),
          "run native-check/native-check for details", List.of());
    } catch (UnsupportedOperationException e) {
      return notALoader(loader, searched, mine ? override : null, e);
    }
    if (devices.isEmpty()) {
      return new Probe(loader, searched, "OpenCL platforms exist but expose no device",
          "check that the driver supports this hardware; run native-check/native-check", List.of());
    }
    return new Probe(loader, searched, null, null, List.copyOf(devices));
  }

  /**
   * The library that loaded lacks OpenCL's functions (JOCL says "The function clGetPlatformIDs is
   * not supported"): NODAL_OPENCL_LIBRARY names some other library (libc, libz, a vendor's ICD
   * itself rather than the loader); {@code override} is that setting, null when it is not set.
   */
  private static Probe notALoader(String loader, String searched, String override, UnsupportedOperationException e) {
    boolean mine = override != null;
    java.util.regex.Matcher f = java.util.regex.Pattern.compile("function (\\w+)").matcher(String.valueOf(e.getMessage()));
    String missing = f.find() ? f.group(1) : "OpenCL's functions";
    return new Probe(loader, searched, (mine ? "NODAL_OPENCL_LIBRARY=" + override : "the library " + loader)
        + " is not an OpenCL loader: it has no " + missing, mine
        ? "point NODAL_OPENCL_LIBRARY at the OpenCL ICD loader, libOpenCL.so.1 (Debian/Ubuntu: apt-get install "
            + "ocl-icd-libopencl1, which puts it in /usr/lib/<arch>-linux-gnu), or unset it to search the usual places"
        : "install the OpenCL ICD loader (Debian/Ubuntu: apt-get install ocl-icd-libopencl1) so that libOpenCL.so.1 is "
            + "the loader; run native-check/native-check for details", List.of(), mine);
  }

  private static Probe noPlatform(String loader, String searched) {
    return new Probe(loader, searched, "the OpenCL loader (" + loader + ") found no platform: no driver (ICD) is registered",
        "install a driver (Debian/Ubuntu: apt-get install pocl-opencl-icd for the CPU, or the GPU vendor's OpenCL "
            + "package) so that /etc/OpenCL/vendors lists it, or point OCL_ICD_VENDORS at a folder of .icd files; "
            + "run native-check/native-check for details", List.of());
  }

  private static DeviceInfo describe(int p, int d, cl_platform_id platform, cl_device_id id) {
    long type = longInfo(id, CL_DEVICE_TYPE);
    List<String> types = new ArrayList<>();
    if ((type & CL_DEVICE_TYPE_GPU) != 0) types.add("GPU");
    if ((type & CL_DEVICE_TYPE_CPU) != 0) types.add("CPU");
    if ((type & CL_DEVICE_TYPE_ACCELERATOR) != 0) types.add("ACCELERATOR");
    if (types.isEmpty()) types.add("OTHER");
    String extensions = deviceString(id, CL_DEVICE_EXTENSIONS);
    return new DeviceInfo(p, d, platform, id,
        platformString(platform, CL_PLATFORM_NAME), platformString(platform, CL_PLATFORM_VERSION),
        deviceString(id, CL_DEVICE_NAME), deviceString(id, CL_DEVICE_VENDOR), String.join("+", types),
        deviceString(id, CL_DEVICE_VERSION), deviceString(id, CL_DRIVER_VERSION),
        deviceString(id, CL_DEVICE_OPENCL_C_VERSION), (int) intInfo(id, CL_DEVICE_MAX_COMPUTE_UNITS),
        longInfo(id, CL_DEVICE_GLOBAL_MEM_SIZE), longInfo(id, CL_DEVICE_LOCAL_MEM_SIZE),
        longInfo(id, CL_DEVICE_MAX_MEM_ALLOC_SIZE), sizeInfo(id, CL_DEVICE_MAX_WORK_GROUP_SIZE),
        extensions.contains("cl_khr_fp16"), extensions.contains("cl_khr_fp64"),
        (int) intInfo(id, CL_DEVICE_MEM_BASE_ADDR_ALIGN));
  }

  static String deviceString(cl_device_id id, int param) {
    long[] size = new long[1];
    clGetDeviceInfo(id, param, 0, null, size);
    byte[] buf = new byte[(int) size[0]];
    clGetDeviceInfo(id, param, buf.length, Pointer.to(buf), null);
    return cString(buf);
  }

  private static String platformString(cl_platform_id id, int param) {
    long[] size = new long[1];
    clGetPlatformInfo(id, param, 0, null, size);
    byte[] buf = new byte[(int) size[0]];
    clGetPlatformInfo(id, param, buf.length, Pointer.to(buf), null);
    return cString(buf);
  }

  private static String cString(byte[] buf) {
    int len = 0;
    while (len < buf.length && buf[len] != 0) len++;
    return new String(buf, 0, len, StandardCharsets.UTF_8).trim();
  }

  private static long longInfo(cl_device_id id, int param) {
    long[] v = new long[1];
    clGetDeviceInfo(id, param, Sizeof.cl_ulong, Pointer.to(v), null);
    return v[0];
  }

  private static long intInfo(cl_device_id id, int param) {
    int[] v = new int[1];
    clGetDeviceInfo(id, param, Sizeof.cl_uint, Pointer.to(v), null);
    return v[0] & 0xffffffffL;
  }

  private static long sizeInfo(cl_device_id id, int param) {
    long[] v = new long[1];
    clGetDeviceInfo(id, param, Sizeof.size_t, Pointer.to(v), null);
    return v[0];
  }
}
