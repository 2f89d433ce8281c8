package dev.nodal.devices;

import dev.nodal.backend.Backend;
import dev.nodal.backend.cpu.CpuBackend;
import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClBackend;
import java.util.List;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chooses a backend from a device selector:
 *
 * <ul>
 *   <li>{@code auto}: the first OpenCL GPU or accelerator; else the pure-Java CPU backend. When
 *       OpenCL itself is unusable this is said at WARN, with the reason and the fix, each time a
 *       backend is opened that way (no process-wide flag remembers it).
 *   <li>{@code cpu}: the pure-Java CPU backend.
 *   <li>{@code opencl}: the first OpenCL device of any type (PoCL's CPU device included).
 *   <li>{@code opencl:P:D}: device D of platform P, as listed by {@code nodal devices}.
 * </ul>
 *
 * An explicit {@code opencl} selector that cannot be met is an error, never a silent fallback.
 */
public final class Backends {
  private static final Logger log = LoggerFactory.getLogger(Backends.class);
  private static final Pattern EXACT = Pattern.compile("opencl:(\\d+):(\\d+)");

  private Backends() {}

  /** The pure-Java CPU backend. */
  public static Backend cpu() {
    return new CpuBackend();
  }

  /**
   * The backend a selector names; see the class comment. {@code cpu} never loads OpenCL: some
   * drivers change process-wide state (signal handlers) as soon as they are loaded.
   */
  public static Backend open(String selector) {
    return open(selector, OpenCl::probe);
  }

  /** {@link #open(String)} against a given discovery result (tests pass failing ones). */
  static Backend open(String selector, OpenCl.Probe probe) {
    return open(selector, () -> probe);
  }

  /**
   * Checks a selector's form without looking for any device; returns it normalised.
   *
   * @throws IllegalArgumentException naming the selector when it has another form, or an index
   *     past any platform or device there can be
   */
  public static String checkSelector(String selector) {
    String s = selector == null ? "auto" : selector.trim().toLowerCase();
    java.util.regex.Matcher exact = EXACT.matcher(s);
    if (!exact.matches() && !List.of("cpu", "auto", "opencl").contains(s)) {
      throw new IllegalArgumentException("unknown device '" + selector + "': use auto, cpu, opencl or opencl:P:D");
    }
    if (exact.matches()) {
      for (int g = 1; g <= 2; g++) {
        try {
          Integer.parseInt(exact.group(g));
        } catch (NumberFormatException e) {
          throw new IllegalArgumentException("device '" + selector + "': " + (g == 1 ? "platform" : "device") + " index "
              + exact.group(g) + " is out of range; nodal devices lists the devices there are as opencl:P:D");
        }
      }
    }
    return s;
  }

  /** Checks the selector's form, then discovers OpenCL only when the selector may need it. */
  private static Backend open(String selector, Supplier<OpenCl.Probe> discovery) {
    String s = checkSelector(selector);
    if (s.equals("cpu")) return cpu();
    OpenCl.Probe probe = discovery.get();
    switch (s) {
      case "auto": {
        if (probe.misconfigured()) {
          throw new IllegalStateException("OpenCL is misconfigured: " + probe.error() + ". Fix: " + probe.fix());
        }
        if (!probe.usable()) {
          log.warn("OpenCL is not usable (" + probe.error() + "); running on the pure-Java CPU backend. Fix: " + probe.fix());
          return cpu();
        }
        for (DeviceInfo d : probe.devices()) {
          if (!d.isGpuOrAccelerator()) continue;
          try {
            return new OpenClBackend(d);
          } catch (RuntimeException e) {
            log.warn("OpenCL device " + d + " cannot be opened (" + e.getMessage() + "); running on the pure-Java CPU "
                + "backend. Fix: run native-check/native-check and follow its advice for that device");
            return cpu();
          }
        }
        log.info("No OpenCL GPU or accelerator among {}; running on the pure-Java CPU backend "
            + "(use --device opencl to run on an OpenCL CPU device)", probe.devices());
        return cpu();
      }
      case "opencl":
        return new OpenClBackend(usableDevices(selector, probe).get(0));
      default: {
        String[] parts = s.split(":"); // opencl:P:D, as checkSelector let through
        int p = Integer.parseInt(parts[1]), d = Integer.parseInt(parts[2]);
        List<DeviceInfo> devices = usableDevices(selector, probe);
        for (DeviceInfo info : devices) {
          if (info.platformIndex() == p && info.deviceIndex() == d) return new OpenClBackend(info);
        }
        throw new IllegalArgumentException("no OpenCL device " + s + "; devices present: " + devices);
      }
    }
  }

  /**
   * The backends of {@code --devices}: each selector of the list opened in turn (one may repeat,
   * opening a device twice), or with {@code all}, every OpenCL GPU and accelerator of the host.
   * What was opened is closed again when a later one fails.
   */
  public static List<Backend> openEach(List<String> selectors) {
    if (selectors.isEmpty()) throw new IllegalArgumentException("--devices needs at least one device");
    java.util.List<Backend> out = new java.util.ArrayList<>();
    try {
      if (selectors.size() == 1 && selectors.get(0).trim().equalsIgnoreCase("all")) {
        OpenCl.Probe probe = OpenCl.probe();
        for (DeviceInfo d : usableDevices("all", probe)) if (d.isGpuOrAccelerator()) out.add(new OpenClBackend(d));
        if (out.isEmpty()) {
          throw new IllegalArgumentException("--devices all: no OpenCL GPU or accelerator among " + probe.devices()
              + "; name the devices instead, for example --devices opencl:0:0,opencl:0:0");
        }
      } else {
        for (String s : selectors) out.add(open(s));
      }
      return List.copyOf(out);
    } catch (RuntimeException e) {
      for (Backend b : out) b.close();
      throw e;
    }
  }

  private static List<DeviceInfo> usableDevices(String selector, OpenCl.Probe probe) {
    if (!probe.usable()) {
      throw new IllegalStateException("device '" + selector + "' needs OpenCL, which is not usable: " + probe.error()
          + ". Fix: " + probe.fix());
    }
    return probe.devices();
  }

}
