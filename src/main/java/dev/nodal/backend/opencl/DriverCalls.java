package dev.nodal.backend.opencl;

import org.jocl.CL;
import org.jocl.CLException;

/**
 * Where device calls that can fail at run time go through: allocations, builds, launches and
 * transfers. It turns a driver's error into an {@link OpenClException} that names the call, the
 * error and the device, and lets tests inject errors ({@link Faults}) as the driver would return
 * them, without a faulty driver.
 */
final class DriverCalls {
  /** Chooses the error code a call returns instead of running; 0 lets it run. */
  interface Faults {
    int errorFor(String call);
  }

  private final String device;
  private final Faults faults;

  DriverCalls(String device, Faults faults) {
    this.device = device;
    this.faults = faults;
  }

  /** Throws the injected error for {@code call}, if any, as the driver would. */
  void before(String call) {
    if (faults == null) return;
    int code = faults.errorFor(call);
    if (code != 0) throw new CLException(CL.stringFor_errorCode(code), code);
  }

  /** The typed form of a driver error in {@code call}. */
  OpenClException failure(String call, CLException e) {
    return new OpenClException(call, CL.stringFor_errorCode(e.getStatus()), e.getStatus(), device);
  }
}
