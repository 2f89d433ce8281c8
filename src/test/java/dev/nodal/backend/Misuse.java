package dev.nodal.backend;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import java.util.Map;

/**
 * The body of a child JVM for {@link MisuseTest}: opens {@code args[0]} ({@code cpu} or
 * {@code opencl}), commits the misuse {@code args[1]}, and prints the message of the exception it
 * gets, exiting 0; exits 3 when nothing was refused. A crash of the JVM shows as a death by signal.
 */
public final class Misuse {
  private Misuse() {}

  static final Map<String, String> EXPECTED = Map.of(
      "close-twice", "closed twice without error",
      "use-after-close", "this session is closed",
      "update-after-close", "this session is closed",
      "session-after-backend-close", "this session is closed",
      "compile-after-close", " is closed",
      "huge-batch", "compile for a smaller batch (maxBatch, --batch-size)",
      "forward-without-inputs", "input 'x' has not been set",
      "nan-param", "is not finite",
      "null-input", "input is null");

  /** The OpenCL misuses and the maximum allocation each makes the device report (0: its own). */
  static final Map<String, Long> OPENCL_LIMITS = Map.of(
      "over-device-allocation", 0L,
      "over-device-allocation-2g", 2L << 30,
      "over-device-allocation-4g", 4L << 30,
      "over-device-allocation-8g", 8L << 30,
      "over-device-allocation-16g", 16L << 30,
      "over-device-allocation-64g", 64L << 30);

  /**
   * The refusal of a buffer one batch larger than {@code maxAllocation} bytes: the device's own
   * limit while that is below what one buffer of 2^31 - 1 floats holds, else that limit, which then
   * comes first.
   */
  static String overDeviceExpectation(long maxAllocation) {
    return maxAllocation < 4L * Integer.MAX_VALUE ? "(CL_DEVICE_MAX_MEM_ALLOC_SIZE); compile for a smaller batch"
        : "more than one buffer can hold (2^31 - 1); compile for a smaller batch";
  }

  static final String OVER_DEVICE_MEMORY = "bytes of device memory, more than the";

  /**
   * Compiles a graph whose hidden activation, alone, is one batch larger than the device allocates
   * at once, while its input stays small (so no host-side limit, such as a Java buffer's 2 GiB, can
   * refuse it first). The device's limits are its own where {@code maxAllocation} is not positive, else
   * the given ones, with global memory unbounded unless {@code globalMemory} is given, so the
   * outcome depends on nothing the machine reports.
   */
  private static void overDevice(Backend b, long globalMemory, long maxAllocation) {
    dev.nodal.backend.opencl.DeviceInfo device = ((dev.nodal.backend.opencl.OpenClBackend) b).device();
    long max = maxAllocation > 0 ? maxAllocation : device.maxAllocation();
    long global = globalMemory > 0 ? globalMemory : Long.MAX_VALUE / 4;
    b.close();
    int hidden = 1 << 16;
    int batch = (int) Math.min(Integer.MAX_VALUE, max / (4L * hidden) + 1);
    try (Backend limited = new dev.nodal.backend.opencl.OpenClBackend(device.withMemoryLimits(global, max))) {
      limited.compile(Models.mlp(1, 4, hidden, 2), batch);
    }
  }

  public static void main(String[] args) {
    Graph g = Models.mlp(1, 3, 4, 2);
    Backend b = Backends.open(args[0]);
    try {
      switch (args[1]) {
        case "close-twice" -> {
          Session s = b.compile(g, 2);
          s.close();
          s.close();
          b.close();
          b.close();
          System.out.println("closed twice without error");
          System.exit(0);
        }
        case "use-after-close" -> {
          Session s = b.compile(g, 2);
          s.close();
          s.setInput((Input) g.node("x"), new float[3]);
        }
        case "update-after-close" -> {
          Session s = b.compile(g, 2);
          s.setOptimizer(new dev.nodal.optim.Sgd(0.1f));
          s.close();
          s.update();
        }
        case "session-after-backend-close" -> {
          Session s = b.compile(g, 2);
          b.close();
          s.forward();
        }
        case "compile-after-close" -> {
          b.close();
          b.compile(g, 2);
        }
        case "huge-batch" -> b.compile(Models.mlp(1, 784, 8, 10), 100_000_000);
        case "over-device-memory" -> overDevice(b, 64L << 20, 64L << 20);
        case "forward-without-inputs" -> b.compile(g, 2).forward();
        case "nan-param" -> b.compile(g, 2).setParam((Param) g.node("fc2.b"), new float[] {0, Float.NaN});
        case "null-input" -> b.compile(g, 2).setInput(null, new float[3]);
        default -> {
          if (!OPENCL_LIMITS.containsKey(args[1])) throw new IllegalArgumentException(args[1]);
          overDevice(b, -1, OPENCL_LIMITS.get(args[1]));
        }
      }
    } catch (RuntimeException e) {
      System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
      System.exit(0);
    }
    System.out.println("not refused");
    System.exit(3);
  }
}
