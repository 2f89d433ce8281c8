package dev.nodal.cli;

import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.KernelBuildException;
import dev.nodal.backend.opencl.KernelSources;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClBackend;
import dev.nodal.devices.Backends;
import dev.nodal.devices.NodalOptions;
import dev.nodal.backend.Parity;
import dev.nodal.graph.Graph;
import dev.nodal.train.ModelZoo;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * The native-stack doctor: what a user runs when the GPU is not used or a kernel misbehaves.
 * Reports the OpenCL loader files, the ICD vendor files, whether JOCL's native library loaded,
 * every platform and device; builds every kernel file on every device; runs a small parity check
 * per device against the CPU backend; and ends with one verdict line per device and the exact fix
 * for each problem found. Exit status 0 only when at least one device passes.
 */
public final class NativeCheck {
  private static final List<String> LIB_DIRS = List.of("/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
      "/usr/lib64", "/usr/lib", "/lib/x86_64-linux-gnu", "/usr/local/lib", "/usr/local/nvidia/lib64",
      "/usr/local/cuda/lib64", "/opt/rocm/lib");

  private final PrintStream out;
  private final List<String> fixes = new ArrayList<>();
  private final String ldconfig;

  private final NodalOptions options;

  /** A check with the settings of {@link NodalOptions#fromEnvironment()}. */
  public NativeCheck(PrintStream out) {
    this(out, NodalOptions.fromEnvironment());
  }

  /** A check of OpenCL as {@code options} find and tile it. */
  public NativeCheck(PrintStream out, NodalOptions options) {
    this.out = out;
    this.options = options;
    this.ldconfig = runLdconfig();
  }

  /** Runs every check; returns the exit status. */
  public int run() {
    section("OpenCL loader");
    List<String> so = findLibrary("libOpenCL.so");
    List<String> so1 = findLibrary("libOpenCL.so.1");
    out.println("  libOpenCL.so   : " + (so.isEmpty() ? "not found (JOCL opens this name)" : so));
    out.println("  libOpenCL.so.1 : " + (so1.isEmpty() ? "not found" : so1));
    if (so.isEmpty() && so1.isEmpty()) {
      fixes.add("No OpenCL loader: install one (Debian/Ubuntu: apt-get install ocl-icd-libopencl1 "
          + "ocl-icd-opencl-dev).");
    }

    section("ICD vendor files");
    String vendorsEnv = System.getenv("OCL_ICD_VENDORS");
    out.println("  OCL_ICD_VENDORS: " + (vendorsEnv == null ? "(not set)" : vendorsEnv));
    Path vendors = Path.of(vendorsEnv != null && !vendorsEnv.isBlank() ? vendorsEnv : "/etc/OpenCL/vendors");
    List<String> registered = listIcds(vendors);
    checkNvidia(registered);

    section("JOCL");
    OpenCl.Probe probe = OpenCl.probe(options.openCl());
    out.println("  folders searched for libOpenCL.so: " + (probe.searched() == null ? "(none)" : probe.searched()));
    out.println("  native library: " + (probe.loader() != null ? "loaded, using " + probe.loader() : "NOT loaded"));
    if (probe.error() != null) {
      out.println("  problem: " + probe.error());
      fixes.add(probe.fix());
    }

    section("Platforms and devices");
    for (DeviceInfo d : probe.devices()) out.println("  " + d.describe() + "\n      platform: " + d.platformName() + ", " + d.platformVersion());
    if (probe.devices().isEmpty()) out.println("  (none)");

    List<String> verdicts = new ArrayList<>();
    int passing = 0;
    for (DeviceInfo d : probe.devices()) {
      section("Device " + d);
      boolean ok = checkDevice(d);
      if (ok) passing++;
      verdicts.add((ok ? "PASS " : "FAIL ") + d.id() + " " + d.name() + " [" + d.type() + "]");
    }

    section("Verdict");
    for (String v : verdicts) out.println("  " + v);
    if (verdicts.isEmpty()) out.println("  FAIL no OpenCL device");
    for (String f : new LinkedHashSet<>(fixes)) out.println("  fix: " + f);
    out.println(passing > 0 ? "  " + passing + " device(s) usable" : "  no usable OpenCL device: Nodal runs on the pure-Java CPU backend");
    return passing > 0 ? 0 : 1;
  }

  private boolean checkDevice(DeviceInfo d) {
    OpenClBackend backend;
    try {
      backend = new OpenClBackend(d, options.openCl());
    } catch (RuntimeException e) {
      out.println("  context: FAILED " + e.getMessage());
      fixes.add(d.id() + ": cannot create a context; check the driver installation and permissions on /dev.");
      return false;
    }
    try (backend) {
      int built = 0;
      for (String file : KernelSources.all()) {
        try {
          backend.build(file);
          built++;
          out.println("  build " + file + ": ok");
        } catch (KernelBuildException e) {
          out.println("  build " + file + ": FAILED with '" + e.options() + "'\n" + indent(e.log()));
        }
      }
      if (built < KernelSources.all().size()) {
        fixes.add(d.id() + ": kernels failed to build; report the build log above with the driver version " + d.driverVersion());
        return false;
      }
      Parity.Report r = smallParity(backend);
      out.print(indent(r.format()));
      if (!r.ok()) fixes.add(d.id() + ": results differ from the CPU backend; run 'nodal parity' on your model and report the first divergence");
      return r.ok();
    } catch (RuntimeException e) {
      out.println("  FAILED: " + e);
      fixes.add(d.id() + ": " + e.getMessage());
      return false;
    }
  }

  /** A 20-33-10 MLP, one forward and backward on a batch of 33, against the CPU. */
  private Parity.Report smallParity(OpenClBackend backend) {
    Graph graph = ModelZoo.mlp(1, 20, 10, 33);
    SplittableRandom r = new SplittableRandom(2);
    float[] xs = new float[33 * 20];
    float[] ys = new float[33];
    for (int i = 0; i < xs.length; i++) xs[i] = (float) r.nextDouble(-1, 1);
    for (int i = 0; i < ys.length; i++) ys[i] = r.nextInt(10);
    return Parity.compare(graph, backend, Backends.cpu(options.cpu()), Map.of("x", xs, "y", ys));
  }

  private List<String> listIcds(Path vendors) {
    List<String> libraries = new ArrayList<>();
    if (!Files.isDirectory(vendors)) {
      out.println("  " + vendors + ": no such folder");
      fixes.add("No ICD folder " + vendors + ": install a driver package that registers itself (pocl-opencl-icd, "
          + "nvidia-opencl-icd, mesa-opencl-icd, ...)");
      return libraries;
    }
    try (Stream<Path> files = Files.list(vendors)) {
      for (Path icd : files.filter(p -> p.toString().endsWith(".icd")).sorted().toList()) {
        String lib = Files.readString(icd).trim();
        libraries.add(lib);
        boolean found = lib.startsWith("/") ? Files.exists(Path.of(lib)) : !findLibrary(lib).isEmpty();
        out.println("  " + icd + " -> " + lib + (found ? "" : "  (library NOT found)"));
        if (!found) fixes.add(icd + " names " + lib + ", which is not installed: reinstall that driver or remove the file");
      }
    } catch (IOException e) {
      out.println("  cannot read " + vendors + ": " + e.getMessage());
    }
    if (libraries.isEmpty()) {
      out.println("  (no .icd file)");
      fixes.add("No OpenCL driver is registered in " + vendors + ": install one (apt-get install pocl-opencl-icd for "
          + "the CPU, or your GPU vendor's OpenCL package)");
    }
    return libraries;
  }

  private void checkNvidia(List<String> registered) {
    List<String> nvidia = findLibrary("libnvidia-opencl.so.1");
    if (!nvidia.isEmpty()) out.println("  NVIDIA OpenCL driver: " + nvidia);
    String fix = unregisteredNvidiaFix(registered, !nvidia.isEmpty());
    if (fix != null) {
      out.println("  problem: libnvidia-opencl.so.1 is installed but no ICD file registers it");
      fixes.add(fix);
    }
  }

  /**
   * The fix when NVIDIA's OpenCL driver is installed but no ICD file names it (the loader then
   * never offers the GPU), else null.
   */
  static String unregisteredNvidiaFix(List<String> registeredLibraries, boolean nvidiaInstalled) {
    if (!nvidiaInstalled || registeredLibraries.stream().anyMatch(l -> l.contains("nvidia-opencl"))) return null;
    return "Register NVIDIA's OpenCL driver: echo libnvidia-opencl.so.1 > /etc/OpenCL/vendors/nvidia.icd "
        + "(as root), or without root: mkdir -p ~/.nodal-icd && echo libnvidia-opencl.so.1 > ~/.nodal-icd/nvidia.icd "
        + "&& export OCL_ICD_VENDORS=~/.nodal-icd";
  }

  /** Where a shared library of that exact name is: the ld.so cache, LD_LIBRARY_PATH and usual folders. */
  private List<String> findLibrary(String name) {
    Set<String> found = new LinkedHashSet<>();
    for (String line : ldconfig.split("\n")) {
      String t = line.trim();
      if (t.startsWith(name + " ")) found.add(t.substring(t.lastIndexOf("=> ") + 3).trim());
    }
    List<String> dirs = new ArrayList<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) dirs.addAll(List.of(ld.split(":")));
    dirs.addAll(LIB_DIRS);
    for (String dir : dirs) {
      if (dir.isBlank()) continue;
      Path p = Path.of(dir, name);
      if (Files.exists(p)) found.add(p.toString());
    }
    return new ArrayList<>(found);
  }

  private static String runLdconfig() {
    for (String exe : new String[] {"/sbin/ldconfig", "/usr/sbin/ldconfig", "ldconfig"}) {
      try {
        Process p = new ProcessBuilder(exe, "-p").redirectErrorStream(true).start();
        String text = new String(p.getInputStream().readAllBytes());
        p.waitFor();
        return text;
      } catch (IOException e) {
        // try the next location
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        return "";
      }
    }
    return "";
  }

  private void section(String title) {
    out.println();
    out.println("== " + title);
  }

  private static String indent(String text) {
    return ("    " + text.strip()).replace("\n", "\n    ") + System.lineSeparator();
  }
}
