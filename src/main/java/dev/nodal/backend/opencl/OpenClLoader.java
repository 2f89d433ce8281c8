package dev.nodal.backend.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * Which file JOCL will open as the OpenCL loader, found before anything touches {@code org.jocl.CL}.
 *
 * <p>JOCL 2.0.5 on Linux asks the dynamic linker for {@code libOpenCL.so} and for nothing else.
 * When that fails, its native code prints a line to standard output and {@code CL} stays unusable
 * for the rest of the JVM. That name is the development link (Debian/Ubuntu:
 * {@code ocl-icd-opencl-dev}); most machines have only the runtime's {@code libOpenCL.so.1}, which
 * does not satisfy it, even when already loaded, because its soname differs.
 *
 * <p>So on Linux {@link #find()} looks for the file that {@code dlopen("libOpenCL.so")}, called from
 * JOCL's native library, opens, in the dynamic linker's order: the RPATH of JOCL's native library
 * ({@code $ORIGIN:$ORIGIN/../lib}, and JOCL unpacks that library into {@code java.io.tmpdir}); then
 * {@code LD_LIBRARY_PATH} (an empty entry is the working directory); then the folders of
 * {@code /etc/ld.so.conf} and of the files it includes (what {@code ldconfig} caches); then the
 * system folders. As for the dynamic linker, only ELF shared objects of this JVM's word size,
 * byte order and machine count. When there is none, the probe never touches {@code CL}: nothing
 * is printed and the CPU backend keeps working.
 *
 * <p>{@code NODAL_OPENCL_LIBRARY}, when set, names the loader the user means; the library cannot
 * make JOCL open it, so it is refused unless the {@code libOpenCL.so} found is that same file
 * (after links). {@code ./nodal} satisfies it: it starts Java with {@code LD_LIBRARY_PATH} naming
 * a folder that holds a {@code libOpenCL.so} link to the setting, or to {@code libOpenCL.so.1}
 * where that is all there is.
 */
final class OpenClLoader {
  /** The environment variable that names the OpenCL loader to use. */
  static final String SETTING = "NODAL_OPENCL_LIBRARY";
  /** The name JOCL hands to the dynamic linker on Linux. */
  static final String NAME = "libOpenCL.so";
  /** The runtime package's name of the same loader. */
  static final String RUNTIME_NAME = "libOpenCL.so.1";

  /**
   * What the search found.
   *
   * @param library the file {@code dlopen("libOpenCL.so")} opens, as found (often a link); null
   *     when there is none, or off Linux, where JOCL searches itself
   * @param searched the folders searched, in order (empty off Linux)
   * @param error null when {@code CL} may be loaded; otherwise why not
   * @param fix what the user can do about {@code error}, or null
   * @param misconfigured true when {@code NODAL_OPENCL_LIBRARY} is at fault
   */
  record Result(Path library, List<Path> searched, String error, String fix, boolean misconfigured) {
    /** The library as found and, when that is a link, the file it resolves to. */
    String describe() {
      if (library == null) return error == null ? "JOCL's own loader search" : null;
      Path real = realPath(library);
      return real.equals(library) ? library.toString() : library + " -> " + real;
    }

    /** The folders searched, comma-separated; null when there were none. */
    String searchedText() {
      return searched.isEmpty() ? null : searched.stream().map(Path::toString).collect(Collectors.joining(", "));
    }
  }

  private final boolean linux;
  private final Map<String, String> env;
  private final Path ldSoConf;
  private final List<Path> joclFolders;
  private final List<Path> systemFolders;
  private final Path workingDir;
  private final byte[] jvmElf;

  /**
   * A search over the given places: {@code env} supplies {@code LD_LIBRARY_PATH} and
   * {@code NODAL_OPENCL_LIBRARY}; {@code ldSoConf} is the linker's configuration file;
   * {@code joclFolders} come first (JOCL's RPATH), {@code systemFolders} last.
   */
  OpenClLoader(boolean linux, Map<String, String> env, Path ldSoConf, List<Path> joclFolders,
      List<Path> systemFolders) {
    this.linux = linux;
    this.env = Map.copyOf(env);
    this.ldSoConf = ldSoConf;
    this.joclFolders = List.copyOf(joclFolders);
    this.systemFolders = List.copyOf(systemFolders);
    this.workingDir = Path.of("").toAbsolutePath();
    this.jvmElf = linux ? header(Path.of("/proc/self/exe")) : null;
  }

  /**
   * The search this process's JOCL will do, for the loader {@code setting} names
   * ({@link OpenClOptions#loaderLibrary()}; null: none). The operating system, its architecture,
   * {@code java.io.tmpdir} and {@code LD_LIBRARY_PATH} are read here: they are facts of this
   * process, which decide what the dynamic linker opens, not settings that could differ per backend.
   */
  static OpenClLoader ofThisProcess(String setting) {
    boolean linux = System.getProperty("os.name", "").toLowerCase().contains("linux");
    Path tmp = realPath(Path.of(System.getProperty("java.io.tmpdir", "/tmp")).toAbsolutePath());
    List<Path> rpath = new ArrayList<>(List.of(tmp));
    if (tmp.getParent() != null) rpath.add(tmp.getParent().resolve("lib"));
    Map<String, String> env = new java.util.HashMap<>();
    String ld = System.getenv("LD_LIBRARY_PATH");
    if (ld != null) env.put("LD_LIBRARY_PATH", ld);
    if (setting != null) env.put(SETTING, setting);
    return new OpenClLoader(linux, env, Path.of("/etc/ld.so.conf"), rpath, systemFolders(System.getProperty("os.arch", "")));
  }

  /** glibc's built-in folders for 64-bit libraries: Debian's multiarch ones, Fedora's, then both. */
  static List<Path> systemFolders(String osArch) {
    String triplet = switch (osArch) {
      case "amd64", "x86_64" -> "x86_64-linux-gnu";
      case "aarch64", "arm64" -> "aarch64-linux-gnu";
      default -> osArch + "-linux-gnu";
    };
    return List.of(Path.of("/lib", triplet), Path.of("/usr/lib", triplet), Path.of("/lib64"), Path.of("/usr/lib64"),
        Path.of("/lib"), Path.of("/usr/lib"));
  }

  /** {@code NODAL_OPENCL_LIBRARY}, null when unset or blank. */
  String setting() {
    String s = env.get(SETTING);
    return s == null || s.isBlank() ? null : s;
  }

  /** Finds the loader JOCL will open; touches no OpenCL and never throws. */
  Result find() {
    String setting = setting();
    boolean set = setting != null;
    if (!linux) {
      return set ? new Result(null, List.of(), SETTING + "=" + setting + " is read on Linux only; here JOCL finds "
          + "the OpenCL loader itself", "unset " + SETTING, true) : new Result(null, List.of(), null, null, false);
    }
    if (set) {
      String why = notALibrary(Path.of(setting));
      if (why != null) {
        return new Result(null, List.of(), SETTING + "=" + setting + " could not be loaded: " + why,
            "point it at libOpenCL.so.1, or unset it to search the usual places", true);
      }
    }
    List<Path> folders = folders();
    Path library = first(NAME, folders);
    if (set) {
      Path wanted = realPath(Path.of(setting).toAbsolutePath());
      if (library == null || !realPath(library).equals(wanted)) {
        return new Result(library, folders, SETTING + "=" + setting + " is not the library JOCL will open: JOCL opens "
            + NAME + ", which " + (library == null ? "is in none of " + folders : "is " + describe(library)),
            "start Java with LD_LIBRARY_PATH naming a folder that holds a " + NAME + " link to " + setting
                + " (./nodal does this itself), or unset " + SETTING, true);
      }
    }
    if (library != null) return new Result(library, folders, null, null, false);
    Path runtime = first(RUNTIME_NAME, folders);
    if (runtime != null) {
      return new Result(null, folders, "JOCL opens " + NAME + ", and this machine has only " + runtime,
          "install the development link (Debian/Ubuntu: apt-get install ocl-icd-opencl-dev), or start Java with "
              + "LD_LIBRARY_PATH naming a folder that holds a " + NAME + " link to it (./nodal does this itself)",
          false);
    }
    return new Result(null, folders, "no OpenCL loader: neither " + NAME + " nor " + RUNTIME_NAME + " is in any of "
        + folders, "install the OpenCL ICD loader with its development link and a driver (Debian/Ubuntu: apt-get "
        + "install ocl-icd-libopencl1 ocl-icd-opencl-dev pocl-opencl-icd, or the GPU vendor's OpenCL package)", false);
  }

  /** Every folder the dynamic linker searches, in its order, each once. */
  List<Path> folders() {
    Set<Path> dirs = new LinkedHashSet<>(joclFolders);
    String ld = env.get("LD_LIBRARY_PATH");
    if (ld != null && !ld.isEmpty()) {
      for (String d : ld.split("[:;]", -1)) dirs.add(d.isEmpty() ? workingDir : workingDir.resolve(d).normalize());
    }
    readConf(ldSoConf, dirs, new LinkedHashSet<>());
    dirs.addAll(systemFolders);
    return List.copyOf(dirs);
  }

  /**
   * Adds the folders an {@code ld.so.conf} names, as {@code ldconfig} reads it: one folder a line,
   * {@code #} comments, {@code include} lines of glob patterns (relative ones beside the file),
   * {@code hwcap} lines ignored.
   */
  private static void readConf(Path conf, Set<Path> dirs, Set<Path> seen) {
    if (!seen.add(conf.toAbsolutePath().normalize()) || seen.size() > 64) return;
    List<String> lines;
    try {
      lines = Files.readAllLines(conf);
    } catch (IOException | RuntimeException e) {
      return; // a missing or unreadable file adds nothing, as for ldconfig
    }
    for (String raw : lines) {
      int hash = raw.indexOf('#');
      String line = (hash < 0 ? raw : raw.substring(0, hash)).strip();
      if (line.startsWith("include") && line.length() > 7 && Character.isWhitespace(line.charAt(7))) {
        for (String pattern : line.substring(8).strip().split("\\s+")) {
          if (!pattern.isEmpty()) for (Path included : expand(conf, pattern)) readConf(included, dirs, seen);
        }
      } else if (line.startsWith("/")) { // "hwcap" lines and relative folders are ignored
        int eq = line.indexOf('='); // an old "folder=type" line
        dirs.add(Path.of(eq < 0 ? line : line.substring(0, eq).strip()).normalize());
      }
    }
  }

  /** The files a glob names, sorted, as glob(3) returns them; only the last part may be a pattern. */
  private static List<Path> expand(Path conf, String pattern) {
    Path p = Path.of(pattern);
    if (!p.isAbsolute()) p = conf.toAbsolutePath().getParent().resolve(p);
    Path dir = p.getParent();
    List<Path> files = new ArrayList<>();
    if (dir == null || p.getFileName() == null) return files;
    try (DirectoryStream<Path> matches = Files.newDirectoryStream(dir, p.getFileName().toString())) {
      matches.forEach(files::add);
    } catch (IOException | RuntimeException e) {
      // no such folder or a pattern Java's globs do not take: nothing included
    }
    files.sort(null);
    return files;
  }

  /** The first {@code name} in {@code folders} that the dynamic linker would take, else null. */
  private Path first(String name, List<Path> folders) {
    for (Path dir : folders) {
      Path p = dir.resolve(name);
      if (notALibrary(p) == null) return p;
    }
    return null;
  }

  /** Null when the file is an ELF shared object this JVM can load; otherwise why not. */
  String notALibrary(Path file) {
    if (!Files.isRegularFile(file)) {
      return Files.isSymbolicLink(file) ? "a link to " + readLink(file) + ", which does not exist" : "no such file";
    }
    byte[] h = header(file);
    if (h == null) return "unreadable";
    if (h.length < 20 || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F') {
      return "not a shared library (no ELF header)";
    }
    int type = h[5] == 2 ? (h[16] & 0xff) << 8 | (h[17] & 0xff) : (h[17] & 0xff) << 8 | (h[16] & 0xff);
    if (type != 3) return "not a shared library (an ELF file of type " + type + ", not a shared object)";
    if (jvmElf != null && jvmElf.length >= 20 && (h[4] != jvmElf[4] || h[5] != jvmElf[5] || h[18] != jvmElf[18]
        || h[19] != jvmElf[19])) {
      return "built for another machine or word size than this JVM (" + (h[4] == 1 ? 32 : 64) + "-bit, ELF machine "
          + ((h[5] == 2 ? (h[18] & 0xff) << 8 | (h[19] & 0xff) : (h[19] & 0xff) << 8 | (h[18] & 0xff))) + ")";
    }
    return null;
  }

  /** The first 20 bytes of a file (ELF's identification, type and machine), null when unreadable. */
  private static byte[] header(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      return in.readNBytes(20);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private static String describe(Path library) {
    Path real = realPath(library);
    return real.equals(library) ? library.toString() : library + " (" + real + ")";
  }

  private static String readLink(Path link) {
    try {
      return Files.readSymbolicLink(link).toString();
    } catch (IOException | RuntimeException e) {
      return "?";
    }
  }

  /** The file at the end of any links; the path itself when that cannot be resolved. */
  static Path realPath(Path p) {
    try {
      return p.toRealPath();
    } catch (IOException | RuntimeException e) {
      return p.toAbsolutePath().normalize();
    }
  }
}
