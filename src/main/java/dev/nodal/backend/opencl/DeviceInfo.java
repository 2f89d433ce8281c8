package dev.nodal.backend.opencl;

import java.util.Locale;
import org.jocl.cl_device_id;
import org.jocl.cl_platform_id;

/**
 * One OpenCL device as discovered: where it is ({@code opencl:P:D}) and its limits.
 *
 * @param openclC the device's {@code CL_DEVICE_OPENCL_C_VERSION}, which decides the
 *     {@code -cl-std} that kernels are built with (never the platform's version)
 */
public record DeviceInfo(
    int platformIndex,
    int deviceIndex,
    cl_platform_id platform,
    cl_device_id device,
    String platformName,
    String platformVersion,
    String name,
    String vendor,
    String type,
    String version,
    String driverVersion,
    String openclC,
    int computeUnits,
    long globalMemory,
    long localMemory,
    long maxAllocation,
    long maxWorkGroupSize,
    boolean fp16,
    boolean fp64,
    int baseAddressAlignBits) {

  /**
   * This device as if it reported other memory limits: a backend opened on the copy refuses what
   * does not fit them, as it would on a smaller device. Limits larger than the device's own are
   * not checked against it.
   *
   * @param globalMemory bytes of global memory, as {@code CL_DEVICE_GLOBAL_MEM_SIZE}
   * @param maxAllocation bytes of the largest single buffer, as {@code CL_DEVICE_MAX_MEM_ALLOC_SIZE}
   */
  public DeviceInfo withMemoryLimits(long globalMemory, long maxAllocation) {
    if (globalMemory <= 0 || maxAllocation <= 0) {
      throw new IllegalArgumentException("memory limits must be positive: global " + globalMemory + ", max allocation "
          + maxAllocation);
    }
    return new DeviceInfo(platformIndex, deviceIndex, platform, device, platformName, platformVersion, name, vendor,
        type, version, driverVersion, openclC, computeUnits, globalMemory, localMemory, maxAllocation,
        maxWorkGroupSize, fp16, fp64, baseAddressAlignBits);
  }

  /** The selector that picks this device: {@code opencl:P:D}. */
  public String id() {
    return "opencl:" + platformIndex + ":" + deviceIndex;
  }

  public boolean isGpuOrAccelerator() {
    return type.contains("GPU") || type.contains("ACCELERATOR");
  }

  /** The {@code -cl-std} option for this device: its own OpenCL C version, capped at 1.2. */
  public String clStdOption() {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("OpenCL C (\\d+)\\.(\\d+)").matcher(openclC);
    if (!m.find()) return "";
    int major = Integer.parseInt(m.group(1)), minor = Integer.parseInt(m.group(2));
    return major > 1 || minor >= 2 ? "-cl-std=CL1.2" : "-cl-std=CL" + major + "." + minor;
  }

  public String describe() {
    return String.format(Locale.ROOT, "%s %s [%s] %s, %s, driver %s, %d CUs, %d MiB global, %d KiB local, max alloc %d MiB, "
            + "max work-group %d, fp16 %s, fp64 %s",
        id(), name, type, version, openclC, driverVersion, computeUnits, globalMemory >> 20, localMemory >> 10,
        maxAllocation >> 20, maxWorkGroupSize, fp16 ? "yes" : "no", fp64 ? "yes" : "no");
  }

  @Override
  public String toString() {
    return id() + " " + name;
  }
}
