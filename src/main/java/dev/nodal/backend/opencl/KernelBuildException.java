package dev.nodal.backend.opencl;

/** A kernel file that did not build on a device; carries everything needed to reproduce it. */
public final class KernelBuildException extends RuntimeException {
  private final String file;
  private final String options;
  private final String device;
  private final String log;

  public KernelBuildException(String file, String options, String device, String log, Throwable cause) {
    super("kernels/" + file + " failed to build on " + device + " with options '" + options + "':\n" + log, cause);
    this.file = file;
    this.options = options;
    this.device = device;
    this.log = log;
  }

  public String file() {
    return file;
  }

  /** The build options: the {@code -cl-std} and every {@code -D} define. */
  public String options() {
    return options;
  }

  public String device() {
    return device;
  }

  /** The compiler's full build log. */
  public String log() {
    return log;
  }
}
