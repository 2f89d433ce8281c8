package org.jocl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Replaces JOCL's own class of this name (excluded from Nodal's jar) to widen the OpenCL loader
 * search: JOCL 2.0.5 tries only {@code libOpenCL.so} on Linux, which exists only where a
 * development package added the symlink. Most machines with just the runtime package have
 * {@code libOpenCL.so.1}.
 *
 * <p>On Linux, only files that exist and are ELF objects are handed to JOCL, because its native
 * loader prints every failed attempt to standard output. Candidates, in order:
 * {@code $NODAL_OPENCL_LIBRARY} (when set, it must load: an error names it, and nothing else is
 * tried), then {@code libOpenCL.so.1} and {@code libOpenCL.so} in {@code $LD_LIBRARY_PATH}, the
 * folders of {@code /etc/ld.so.conf.d} and the usual library folders. The one that loaded is
 * published as the system property {@code nodal.opencl.loader}; every one tried as
 * {@code nodal.opencl.loader.tried}.
 */
final class LibInitializer {
  private LibInitializer() {}

  static void initNativeLibrary() {
    String override = System.getenv("NODAL_OPENCL_LIBRARY");
    if (override != null && !override.isBlank()) {
      System.setProperty("nodal.opencl.loader.tried", override);
      String why = isLinux() ? notALibrary(Path.of(override)) : null;
      if (why == null && CL.initNativeLibrary(override)) {
        System.setProperty("nodal.opencl.loader", override);
        return;
      }
      throw new UnsatisfiedLinkError("NODAL_OPENCL_LIBRARY=" + override + " could not be loaded"
          + (why == null ? "" : ": " + why) + "; point it at libOpenCL.so.1, or unset it to search the usual places");
    }
    List<String> tried = new ArrayList<>();
    for (String candidate : candidates()) {
      tried.add(candidate);
      if (CL.initNativeLibrary(candidate)) {
        System.setProperty("nodal.opencl.loader", candidate);
        System.setProperty("nodal.opencl.loader.tried", String.join(", ", tried));
        return;
      }
    }
    System.setProperty("nodal.opencl.loader.tried", String.join(", ", tried));
    throw new UnsatisfiedLinkError("Could not initialize native OpenCL library: no OpenCL loader among "
        + (tried.isEmpty() ? "libOpenCL.so.1 or libOpenCL.so in " + libraryFolders() : tried)
        + ". Install one (Debian/Ubuntu: apt-get install ocl-icd-libopencl1) or set NODAL_OPENCL_LIBRARY to its path.");
  }

  private static boolean isLinux() {
    return System.getProperty("os.name", "").toLowerCase().contains("linux");
  }

  private static List<String> candidates() {
    String os = System.getProperty("os.name", "").toLowerCase();
    if (os.contains("mac")) return List.of("/System/Library/Frameworks/OpenCL.framework/Versions/Current/OpenCL", "libOpenCL.dylib");
    if (os.contains("win")) return List.of("OpenCL.dll");
    List<String> found = new ArrayList<>();
    for (String name : new String[] {"libOpenCL.so.1", "libOpenCL.so"}) {
      for (Path dir : libraryFolders()) {
        Path p = dir.resolve(name);
        if (notALibrary(p) == null) found.add(p.toString());
      }
    }
    return found;
  }

  /** Where the dynamic linker looks: LD_LIBRARY_PATH, /etc/ld.so.conf.d, then the usual folders. */
  private static Set<Path> libraryFolders() {
    Set<Path> dirs = new LinkedHashSet<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) for (String d : ld.split(":")) if (!d.isBlank()) dirs.add(Path.of(d));
    try (Stream<Path> confs = Files.list(Path.of("/etc/ld.so.conf.d"))) {
      for (Path conf : confs.filter(p -> p.toString().endsWith(".conf")).sorted().toList()) {
        for (String line : Files.readAllLines(conf)) {
          String d = line.strip();
          if (d.startsWith("/")) dirs.add(Path.of(d));
        }
      }
    } catch (IOException | RuntimeException e) {
      // no such folder: the usual ones below still count
    }
    for (String d : new String[] {"/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu",
        "/lib/aarch64-linux-gnu", "/usr/lib64", "/lib64", "/usr/lib", "/lib", "/usr/local/lib", "/opt/rocm/lib",
        "/usr/local/cuda/lib64"}) {
      dirs.add(Path.of(d));
    }
    return dirs;
  }

  /** Null when the file exists and starts like an ELF shared object; otherwise why not. */
  private static String notALibrary(Path file) {
    if (!Files.isRegularFile(file)) return "no such file";
    try (InputStream in = Files.newInputStream(file)) {
      byte[] magic = in.readNBytes(4);
      return magic.length == 4 && magic[0] == 0x7f && magic[1] == 'E' && magic[2] == 'L' && magic[3] == 'F'
          ? null : "not a shared library (no ELF header)";
    } catch (IOException e) {
      return "unreadable: " + e.getMessage();
    }
  }
}
