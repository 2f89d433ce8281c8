package dev.nodal.backend.opencl;

/**
 * A driver call that failed on a device: which call, the OpenCL error by name and number, and
 * the device. The session it happened in refuses further work; close it (and, if the device is
 * lost, the backend).
 */
public final class OpenClException extends IllegalStateException {
  private final String call;
  private final String error;
  private final int code;
  private final String device;

  OpenClException(String call, String error, int code, String device) {
    super(call + " failed with " + error + " (" + code + ") on " + device + "; " + advice(code));
    this.call = call;
    this.error = error;
    this.code = code;
    this.device = device;
  }

  private static String advice(int code) {
    return switch (code) {
      case -4, -5, -6 -> "the device ran out of memory or resources: lower --batch-size (maxBatch), or free the device";
      case -54, -55 -> "the launch does not fit this device's work-group limits: run native-check/native-check and report it";
      default -> "run native-check/native-check for the device's state";
    };
  }

  public String call() {
    return call;
  }

  /** The OpenCL name of the error, for example {@code CL_OUT_OF_RESOURCES}. */
  public String error() {
    return error;
  }

  public int code() {
    return code;
  }

  public String device() {
    return device;
  }
}
