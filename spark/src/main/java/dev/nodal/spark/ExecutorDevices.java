package dev.nodal.spark;

import dev.nodal.backend.Backend;
import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.devices.NodalOptions;
import dev.nodal.devices.Backends;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.TaskContext;
import org.apache.spark.resource.ResourceInformation;

/**
 * The devices of a job's tasks on an executor. {@code --device} takes Nodal's selectors
 * ({@code cpu}, {@code auto}, {@code opencl}, {@code opencl:P:D}), opened on each executor, or
 * {@code gpu}: the OpenCL device that Spark's GPU scheduling assigned the task
 * ({@code spark.task.resource.gpu.amount}). An address {@code P:D} names {@code opencl:P:D}; an
 * address {@code N} names the N-th OpenCL GPU or accelerator of the executor's host, in
 * {@code nodal devices} order (on a host with none, the N-th OpenCL device of any kind, with a
 * warning: PoCL's CPU device in tests). An executor keeps the backends it opened for the tasks
 * that follow, so a device's kernels are built once per executor, not once per epoch; a backend
 * serves one task at a time (a backend's sessions share its scratch memory), so an executor running
 * several tasks at once opens one per task.
 */
final class ExecutorDevices {
  private ExecutorDevices() {}

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(ExecutorDevices.class);
  /** The selector that takes the task's GPU from Spark. */
  static final String GPU = "gpu";
  /** Backends opened and not in use, by selector. */
  private static final Map<String, java.util.Queue<Backend>> IDLE = new ConcurrentHashMap<>();

  /** A backend lent to one task: {@link #close} gives it back for the executor's next task. */
  record Lease(String selector, Backend backend) implements AutoCloseable {
    @Override
    public void close() {
      IDLE.computeIfAbsent(selector, k -> new java.util.concurrent.ConcurrentLinkedQueue<>()).add(backend);
    }
  }

  /** Checks a {@code --device} value on the driver, before any task runs; returns it normalised. */
  static String check(String selector) {
    String s = selector == null ? "cpu" : selector.strip();
    return s.equalsIgnoreCase(GPU) ? GPU : Backends.checkSelector(s);
  }

  /**
   * The backend of this task, for it alone until the lease is closed: its selector's, or with
   * {@code gpu} the device Spark assigned it; one the executor opened before where one is idle.
   */
  static Lease lease(String selector, TaskContext task) {
    String s = selector.equals(GPU) ? assigned(task) : selector;
    java.util.Queue<Backend> idle = IDLE.get(s);
    Backend b = idle == null ? null : idle.poll();
    return new Lease(s, b != null ? b : Backends.open(s));
  }

  /** The OpenCL selector of the GPU that Spark assigned {@code task}. */
  static String assigned(TaskContext task) {
    scala.Option<ResourceInformation> gpu = task.resources().get("gpu");
    if (gpu.isEmpty() || gpu.get().addresses().length == 0) {
      throw new IllegalStateException("--device gpu: Spark assigned this task no GPU; set spark.task.resource.gpu.amount "
          + "(and the executors' spark.executor.resource.gpu.amount and discovery script)");
    }
    return SELECTORS.computeIfAbsent(gpu.get().addresses()[0].strip(), ExecutorDevices::selector);
  }

  /** The selectors of the GPU addresses this executor was assigned, found once each. */
  private static final Map<String, String> SELECTORS = new ConcurrentHashMap<>();

  /** The OpenCL selector of a GPU address: {@code P:D} as it is, an index {@code N} by this host's devices. */
  private static String selector(String address) {
    if (address.matches("\\d+:\\d+")) return "opencl:" + address;
    int n;
    try {
      n = Integer.parseInt(address);
    } catch (NumberFormatException e) {
      throw new IllegalStateException("--device gpu: Spark assigned the GPU address '" + address + "'; Nodal takes an "
          + "index (0, 1, …) or an OpenCL platform:device (0:1)");
    }
    OpenCl.Probe probe = OpenCl.probe(NodalOptions.fromEnvironment().openCl());
    if (!probe.usable()) {
      throw new IllegalStateException("--device gpu: OpenCL is not usable on this executor: " + probe.error() + ". Fix: "
          + probe.fix());
    }
    List<DeviceInfo> gpus = probe.devices().stream().filter(DeviceInfo::isGpuOrAccelerator).toList();
    List<DeviceInfo> pool = gpus.isEmpty() ? probe.devices() : gpus;
    if (n >= pool.size()) {
      throw new IllegalStateException("--device gpu: Spark assigned GPU " + n + ", but this executor's host has "
          + pool.size() + " OpenCL " + (gpus.isEmpty() ? "devices" : "GPUs or accelerators") + ": " + pool);
    }
    if (gpus.isEmpty()) {
      log.warn("--device gpu: no OpenCL GPU or accelerator on this host; Spark's GPU {} is taken as OpenCL device {}",
          address, pool.get(n));
    }
    return "opencl:" + pool.get(n).platformIndex() + ":" + pool.get(n).deviceIndex();
  }
}
