package dev.nodal.devices;

/**
 * Which device a backend runs on, typed; {@link #selector()} is the string the command line's
 * {@code --device} takes for the same choice, and {@link #parse} reads one.
 *
 * <pre>
 * Backends.open(Device.auto())          // the first OpenCL GPU or accelerator, else the CPU
 * Backends.open(Device.cpu())           // the pure-Java CPU backend
 * Backends.open(Device.opencl())        // the first OpenCL device of any type
 * Backends.open(Device.opencl(0, 1))    // device 1 of OpenCL platform 0
 * Backends.open(Device.named("mine"))   // a {@link BackendProvider}'s backend
 * </pre>
 */
public record Device(String selector) {
  public Device {
    selector = Backends.checkSelector(selector);
  }

  public static Device auto() {
    return new Device("auto");
  }

  public static Device cpu() {
    return new Device("cpu");
  }

  /** The first OpenCL device of any type (PoCL's CPU device included). */
  public static Device opencl() {
    return new Device("opencl");
  }

  /** Device {@code device} of OpenCL platform {@code platform}, as {@code nodal devices} lists them. */
  public static Device opencl(int platform, int device) {
    if (platform < 0 || device < 0) {
      throw new IllegalArgumentException("OpenCL platform and device indices are 0 or more, got " + platform + ", " + device);
    }
    return new Device("opencl:" + platform + ":" + device);
  }

  /** A {@link BackendProvider}'s backend: {@code name}, or {@code name:rest} for the provider to read. */
  public static Device named(String selector) {
    return new Device(selector);
  }

  /** A selector as the command line takes it; null means {@code auto}. */
  public static Device parse(String selector) {
    return new Device(selector);
  }

  @Override
  public String toString() {
    return selector;
  }
}
