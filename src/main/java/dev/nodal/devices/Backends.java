package dev.nodal.devices;

import dev.nodal.backend.Backend;
import dev.nodal.backend.cpu.CpuBackend;
import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClBackend;
import dev.nodal.backend.opencl.OpenClOptions;
import dev.nodal.tensor.CpuOptions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
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
 *   <li>{@code NAME} or {@code NAME:...}: the backend of the {@link BackendProvider} of that name.
 * </ul>
 *
 * An explicit {@code opencl} selector that cannot be met is an error, never a silent fallback.
 * {@link Device} says the same with types.
 *
 * <p>Settings: the methods that take {@link NodalOptions} use those and read no environment; the
 * others read {@link NodalOptions#fromEnvironment()} once per call and pass it down. OpenCL is
 * discovered afresh by each call that needs it ({@link OpenCl#probe(OpenClOptions)}: a few
 * milliseconds once the driver is loaded); nothing is kept between calls.
 */
public final class Backends {
  private static final Logger log = LoggerFactory.getLogger(Backends.class);
  private static final Pattern EXACT = Pattern.compile("opencl:(\\d+):(\\d+)");

  private Backends() {}

  /** The pure-Java CPU backend, with the CPU options of {@link NodalOptions#fromEnvironment()}. */
  public static Backend cpu() {
    return cpu(NodalOptions.fromEnvironment().cpu());
  }

  /** The pure-Java CPU backend with {@code options}. */
  public static Backend cpu(CpuOptions options) {
    return new CpuBackend(options);
  }

  /**
   * The backend a selector names, with the options of {@link NodalOptions#fromEnvironment()}; see
   * the class comment. {@code cpu} never loads OpenCL: some drivers change process-wide state
   * (signal handlers) as soon as they are loaded.
   */
  public static Backend open(String selector) {
    return open(selector, NodalOptions.fromEnvironment());
  }

  /** The backend a selector names, with {@code options} (and no environment); see the class comment. */
  public static Backend open(String selector, NodalOptions options) {
    requireOptions(options);
    return open(selector, options, () -> OpenCl.probe(options.openCl()));
  }

  /** The backend of a typed selector, with the options of {@link NodalOptions#fromEnvironment()}. */
  public static Backend open(Device device) {
    return open(device.selector());
  }

  /** The backend of a typed selector, with {@code options}. */
  public static Backend open(Device device, NodalOptions options) {
    return open(device.selector(), options);
  }

  private static void requireOptions(NodalOptions options) {
    if (options == null) throw new IllegalArgumentException("options are null (NodalOptions.defaults() for the defaults)");
  }

  /**
   * The backend providers on the class path (or module path) of the thread's context class loader
   * (else Nodal's), by name, found afresh on each call.
   *
   * @throws IllegalStateException naming the classes when a provider cannot be made, takes one of
   *     Nodal's own selectors, has a malformed name, or shares its name with another
   */
  public static Map<String, BackendProvider> providers() {
    Map<String, BackendProvider> out = new LinkedHashMap<>();
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    ServiceLoader<BackendProvider> loader = ServiceLoader.load(BackendProvider.class,
        context != null ? context : Backends.class.getClassLoader());
    try {
      for (BackendProvider p : loader) {
        String name = p.name();
        String cls = p.getClass().getName();
        if (name == null || !PROVIDER_NAME.matcher(name).matches()) {
          throw new IllegalStateException("backend provider " + cls + " is named '" + name
              + "': use lower case letters, digits and '-', starting with a letter");
        }
        if (BUILT_IN.contains(name)) {
          throw new IllegalStateException("backend provider " + cls + " takes the name '" + name + "', one of Nodal's own "
              + BUILT_IN + "; choose another");
        }
        BackendProvider before = out.putIfAbsent(name, p);
        if (before != null) {
          throw new IllegalStateException("backend providers " + before.getClass().getName() + " and " + cls
              + " are both named '" + name + "'; remove one from the class path");
        }
      }
    } catch (ServiceConfigurationError e) {
      throw new IllegalStateException("a backend provider cannot be loaded: " + e.getMessage(), e);
    }
    return out;
  }

  private static final List<String> BUILT_IN = List.of("auto", "cpu", "opencl", "all");

  /** True for Nodal's own selectors, normalised: cpu, auto, opencl and opencl:P:D. */
  private static boolean isOwn(String s) {
    return s.equals("cpu") || s.equals("auto") || s.equals("opencl") || EXACT.matcher(s).matches();
  }
  private static final Pattern PROVIDER_NAME = Pattern.compile("[a-z][a-z0-9-]*");

  /** {@link #open(String)} with the default options against a given discovery result (tests pass failing ones). */
  static Backend open(String selector, OpenCl.Probe probe) {
    return open(selector, NodalOptions.defaults(), () -> probe);
  }

  /**
   * Checks a selector's form without looking for any device; returns it normalised.
   *
   * @throws IllegalArgumentException naming the selector when it has another form, or an index
   *     past any platform or device there can be
   */
  public static String checkSelector(String selector) {
    String s = selector == null ? "auto" : selector.trim().toLowerCase(java.util.Locale.ROOT);
    java.util.regex.Matcher exact = EXACT.matcher(s);
    if (!isOwn(s)) {
      String[] parts = selector.trim().split(":", 2); // a provider's selector keeps the case of its rest
      String head = parts[0].toLowerCase(java.util.Locale.ROOT);
      Map<String, BackendProvider> providers = providers();
      if (!head.equals("opencl") && providers.containsKey(head)) return parts.length == 1 ? head : head + ":" + parts[1];
      throw new IllegalArgumentException("unknown device '" + selector + "': use auto, cpu, opencl or opencl:P:D"
          + (providers.isEmpty() ? "" : ", or a backend provider's name " + providers.keySet()));
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
  private static Backend open(String selector, NodalOptions options, Supplier<OpenCl.Probe> discovery) {
    String s = checkSelector(selector);
    if (s.equals("cpu")) return cpu(options.cpu());
    if (!isOwn(s)) return providers().get(s.split(":", 2)[0]).open(s, options); // checkSelector found it
    OpenCl.Probe probe = discovery.get();
    switch (s) {
      case "auto": {
        if (probe.misconfigured()) {
          throw new IllegalStateException("OpenCL is misconfigured: " + probe.error() + ". Fix: " + probe.fix());
        }
        if (!probe.usable()) {
          log.warn("OpenCL is not usable (" + probe.error() + "); running on the pure-Java CPU backend. Fix: " + probe.fix());
          return cpu(options.cpu());
        }
        for (DeviceInfo d : probe.devices()) {
          if (!d.isGpuOrAccelerator()) continue;
          try {
            return new OpenClBackend(d, options.openCl());
          } catch (RuntimeException e) {
            log.warn("OpenCL device " + d + " cannot be opened (" + e.getMessage() + "); running on the pure-Java CPU "
                + "backend. Fix: run native-check/native-check and follow its advice for that device");
            return cpu(options.cpu());
          }
        }
        log.info("No OpenCL GPU or accelerator among {}; running on the pure-Java CPU backend "
            + "(use --device opencl to run on an OpenCL CPU device)", probe.devices());
        return cpu(options.cpu());
      }
      case "opencl":
        return new OpenClBackend(usableDevices(selector, probe).get(0), options.openCl());
      default: {
        String[] parts = s.split(":"); // opencl:P:D, as checkSelector let through
        int p = Integer.parseInt(parts[1]), d = Integer.parseInt(parts[2]);
        List<DeviceInfo> devices = usableDevices(selector, probe);
        for (DeviceInfo info : devices) {
          if (info.platformIndex() == p && info.deviceIndex() == d) return new OpenClBackend(info, options.openCl());
        }
        throw new IllegalArgumentException("no OpenCL device " + s + "; devices present: " + devices);
      }
    }
  }

  /**
   * The backends of {@code --devices}, with the options of {@link NodalOptions#fromEnvironment()}:
   * see {@link #openEach(List, NodalOptions)}.
   */
  public static List<Backend> openEach(List<String> selectors) {
    return openEach(selectors, NodalOptions.fromEnvironment());
  }

  /**
   * The backends of {@code --devices}, with {@code options}: each selector of the list opened in
   * turn (one may repeat, opening a device twice), or with {@code all}, every OpenCL GPU and
   * accelerator of the host. OpenCL is discovered once for the whole list. What was opened is
   * closed again when a later one fails.
   */
  public static List<Backend> openEach(List<String> selectors, NodalOptions options) {
    requireOptions(options);
    if (selectors.isEmpty()) throw new IllegalArgumentException("--devices needs at least one device");
    java.util.List<Backend> out = new java.util.ArrayList<>();
    OpenCl.Probe[] found = new OpenCl.Probe[1];
    Supplier<OpenCl.Probe> discovery = () -> found[0] != null ? found[0] : (found[0] = OpenCl.probe(options.openCl()));
    try {
      if (selectors.size() == 1 && selectors.get(0).trim().equalsIgnoreCase("all")) {
        OpenCl.Probe probe = discovery.get();
        for (DeviceInfo d : usableDevices("all", probe)) {
          if (d.isGpuOrAccelerator()) out.add(new OpenClBackend(d, options.openCl()));
        }
        if (out.isEmpty()) {
          throw new IllegalArgumentException("--devices all: no OpenCL GPU or accelerator among " + probe.devices()
              + "; name the devices instead, for example --devices opencl:0:0,opencl:0:0");
        }
      } else {
        for (String s : selectors) out.add(open(s, options, discovery));
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
