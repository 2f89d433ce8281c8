package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.cli.Main;
import dev.nodal.devices.BackendsAccess;
import dev.nodal.testkit.ChildJvm;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The file JOCL will open as {@code libOpenCL.so} is found before JOCL is touched, in the dynamic
 * linker's order; where there is none, or {@code NODAL_OPENCL_LIBRARY} names another file, OpenCL
 * is refused with the reason and the fix, and nothing of JOCL's is loaded or printed.
 */
class LoaderTest {
  @TempDir Path dir;

  /** An ELF shared object of this JVM's machine that is not OpenCL: the JVM's own libzip. */
  private static final Path LIBZIP = Path.of(System.getProperty("java.home"), "lib", "libzip.so");

  private static final String[] BENCH = {"bench", "gemm", "--size", "8", "--repeats", "1", "--inner", "1", "--device"};

  /** A copy of {@link #LIBZIP} in the test's folder, so that every link the test makes stays inside it. */
  private Path libzip;

  @BeforeEach
  void linuxOnly() throws Exception {
    Assumptions.assumeTrue(SignalChaining.needed(), "the library search and its ELF check are Linux's");
    Assumptions.assumeTrue(Files.isRegularFile(LIBZIP), "no " + LIBZIP);
    libzip = Files.copy(LIBZIP, Files.createDirectories(dir.resolve("jdk")).resolve("libzip.so"));
  }

  private static ChildJvm.Result bench(Map<String, String> env, String device) {
    String[] args = java.util.Arrays.copyOf(BENCH, BENCH.length + 1);
    args[BENCH.length] = device;
    return ChildJvm.run(Main.class, env, 120, args);
  }

  /** A folder holding one {@code libOpenCL.so} link to {@code target}, as {@code ./nodal} makes it. */
  private Path linkFolder(Path target) throws Exception {
    Path links = Files.createDirectories(dir.resolve("links"));
    Files.createSymbolicLink(links.resolve("libOpenCL.so"), target);
    return links;
  }

  /** A child's environment: signal chaining on, OpenCL not disabled, this setting and library path. */
  private static Map<String, String> env(Path setting, Path libraryPath) {
    Map<String, String> env = new HashMap<>();
    env.put("LD_PRELOAD", Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString());
    env.put(OpenCl.DISABLE, null); // the setting is checked even where no loader is installed
    env.put(OpenClLoader.SETTING, setting.toString());
    env.put("LD_LIBRARY_PATH", libraryPath.toString());
    return env;
  }

  /** A search of only the given system folders, with no ld.so.conf, JOCL folder or LD_LIBRARY_PATH. */
  private OpenClLoader searchOf(Map<String, String> env, Path... systemFolders) {
    return new OpenClLoader(true, env, dir.resolve("no-ld.so.conf"), List.of(), List.of(systemFolders));
  }

  @Test
  void aLibraryOverrideThatCannotLoadIsAnErrorNamingIt() throws Exception {
    Path notALibrary = Files.writeString(dir.resolve("libOpenCL.so.1"), "not an ELF file");
    Map<String, String> env = env(notALibrary, linkFolder(notALibrary));
    ChildJvm.Result auto = bench(env, "auto");
    assertEquals(1, auto.exitCode(), auto.output());
    assertTrue(auto.output().contains("NODAL_OPENCL_LIBRARY=" + notALibrary
        + " could not be loaded: not a shared library (no ELF header)"), auto.output());
    assertFalse(auto.output().contains("Could not load"),
        "JOCL is never asked, so it prints nothing: " + auto.output());
    ChildJvm.Result cpu = bench(env, "cpu");
    assertEquals(0, cpu.exitCode(), "--device cpu never loads OpenCL: " + cpu.output());
  }

  /**
   * A library that loads but is not OpenCL (here the JVM's own libzip; libc or libz alike), linked
   * as libOpenCL.so where the child's LD_LIBRARY_PATH names it, is an error that says so and how
   * to fix it, for auto as for an explicit OpenCL device.
   */
  @Test
  void aLibraryThatIsNotOpenClIsAnErrorSayingSo() throws Exception {
    Map<String, String> env = env(libzip, linkFolder(libzip));
    int refused = 0;
    for (String device : new String[] {"auto", "opencl", "opencl:0:0"}) {
      ChildJvm.Result r = bench(env, device);
      assertEquals(1, r.exitCode(), device + ": " + r.output());
      assertTrue(r.output().contains("NODAL_OPENCL_LIBRARY=" + libzip + " is not an OpenCL loader: it has no "
          + "clGetPlatformIDs") && r.output().contains("Fix: point NODAL_OPENCL_LIBRARY at the OpenCL ICD loader, "
          + "libOpenCL.so.1"), device + ": " + r.output());
      assertFalse(r.output().contains("internal error") || r.output().contains("UnsupportedOperationException"),
          r.output());
      refused++;
    }
    System.out.printf("NODAL_OPENCL_LIBRARY at a library that is not OpenCL: %d runs refused, saying so%n", refused);
    assertEquals(3, refused);
  }

  /**
   * Where only libOpenCL.so.1 exists, the probe says so and how to fix it, without loading JOCL:
   * in a child JVM whose search sees only a folder with libOpenCL.so.1, neither JOCL's native
   * library nor an OpenCL loader is mapped, nothing is printed by them, and auto runs on the CPU.
   */
  @Test
  void withOnlyLibOpenClSo1NothingOfJoclIsLoadedAndTheCpuRuns() throws Exception {
    Path system = Files.createDirectories(dir.resolve("lib"));
    Files.createSymbolicLink(system.resolve("libOpenCL.so.1"), libzip);
    Map<String, String> env = env(libzip, dir);
    env.put(OpenClLoader.SETTING, null);
    env.put("LD_LIBRARY_PATH", null);
    ChildJvm.Result r = ChildJvm.run(OnlyLibOpenClSo1.class, env, 60, dir.toString(), system.toString());
    assertEquals(0, r.exitCode(), r.output());
    assertTrue(r.output().contains("error: JOCL opens libOpenCL.so, and this machine has only "
        + system.resolve("libOpenCL.so.1")), r.output());
    assertTrue(r.output().contains("fix: install the development link (Debian/Ubuntu: apt-get install "
        + "ocl-icd-opencl-dev), or start Java with LD_LIBRARY_PATH naming a folder that holds a libOpenCL.so link to "
        + "it (./nodal does this itself)"), r.output());
    assertTrue(r.output().contains("misconfigured: false, JOCL mapped: false, libOpenCL mapped: false, backend: cpu"),
        r.output());
    assertFalse(r.output().contains("Could not load"), r.output());
  }

  /**
   * The child of {@link #withOnlyLibOpenClSo1NothingOfJoclIsLoadedAndTheCpuRuns}; its arguments are
   * a scratch folder and the one system folder to search.
   */
  public static final class OnlyLibOpenClSo1 {
    public static void main(String[] args) throws Exception {
      OpenClLoader search = new OpenClLoader(true, Map.of(), Path.of(args[0], "no-ld.so.conf"), List.of(),
          List.of(Path.of(args[1])));
      OpenCl.Probe probe = OpenCl.discover(search, null);
      System.out.println("error: " + probe.error());
      System.out.println("fix: " + probe.fix());
      String backend;
      try (Backend b = BackendsAccess.open("auto", probe)) {
        backend = b.name();
      }
      String maps = Files.readString(Path.of("/proc/self/maps"));
      System.out.println("misconfigured: " + probe.misconfigured() + ", JOCL mapped: " + maps.contains("libJOCL")
          + ", libOpenCL mapped: " + maps.contains("libOpenCL") + ", backend: " + backend);
    }
  }

  @Test
  void theSearchFollowsTheDynamicLinkersOrder() throws Exception {
    Path jocl = Files.createDirectories(dir.resolve("jocl"));
    Path ld1 = Files.createDirectories(dir.resolve("ld1"));
    Path ld2 = Files.createDirectories(dir.resolve("ld2"));
    Path conf1 = Files.createDirectories(dir.resolve("conf1"));
    Path conf2 = Files.createDirectories(dir.resolve("conf2"));
    Path system = Files.createDirectories(dir.resolve("system"));
    Path confD = Files.createDirectories(dir.resolve("etc/ld.so.conf.d"));
    Path conf = Files.writeString(dir.resolve("etc/ld.so.conf"),
        "# comment\n" + conf1 + "  # after a folder\ninclude ld.so.conf.d/*.conf\nhwcap 0 nosegneg\n"
            + "relative/ignored\n");
    Files.writeString(confD.resolve("b.conf"), conf2 + "\ninclude " + conf + "\n"); // a loop is read once
    Files.writeString(confD.resolve("a.conf"), system + "=libc6\n");
    Files.writeString(confD.resolve("c.txt"), dir.resolve("not-included") + "\n");
    OpenClLoader search = new OpenClLoader(true, Map.of("LD_LIBRARY_PATH", ld1 + "::" + ld2), conf, List.of(jocl),
        List.of(system, Path.of("/usr/lib")));
    assertEquals(List.of(jocl, ld1, Path.of("").toAbsolutePath(), ld2, conf1, system, conf2, Path.of("/usr/lib")),
        search.folders());

    Files.createSymbolicLink(conf2.resolve("libOpenCL.so"), libzip);
    Files.writeString(ld1.resolve("libOpenCL.so"), "INPUT(libOpenCL.so.1)\n"); // a linker script: skipped
    byte[] elf32 = new byte[64];
    elf32[0] = 0x7f;
    elf32[1] = 'E';
    elf32[2] = 'L';
    elf32[3] = 'F';
    elf32[4] = 1; // 32-bit
    elf32[5] = 1; // little-endian
    elf32[16] = 3; // a shared object
    elf32[18] = 3; // i386
    Files.write(conf1.resolve("libOpenCL.so"), elf32); // another word size: skipped
    Files.createSymbolicLink(ld2.resolve("libOpenCL.so"), dir.resolve("gone")); // broken: skipped
    OpenClLoader.Result found = search.find();
    assertNull(found.error(), found.error());
    assertEquals(conf2.resolve("libOpenCL.so"), found.library());
    assertEquals(conf2.resolve("libOpenCL.so") + " -> " + libzip, found.describe());
    assertTrue(search.notALibrary(conf1.resolve("libOpenCL.so")).startsWith("built for another machine or word size"));
    assertEquals("not a shared library (no ELF header)", search.notALibrary(ld1.resolve("libOpenCL.so")));
  }

  @Test
  void onlyLibOpenClSo1IsAnErrorWithTheFix() throws Exception {
    Path system = Files.createDirectories(dir.resolve("lib"));
    Files.createSymbolicLink(system.resolve("libOpenCL.so.1"), libzip);
    OpenClLoader.Result r = searchOf(Map.of(), system).find();
    assertNull(r.library());
    assertFalse(r.misconfigured());
    assertEquals("JOCL opens libOpenCL.so, and this machine has only " + system.resolve("libOpenCL.so.1"), r.error());
    assertTrue(r.fix().contains("apt-get install ocl-icd-opencl-dev") && r.fix().contains("LD_LIBRARY_PATH"), r.fix());

    OpenClLoader.Result none = searchOf(Map.of(), dir.resolve("empty")).find();
    assertTrue(none.error().startsWith("no OpenCL loader: neither libOpenCL.so nor libOpenCL.so.1"), none.error());
  }

  @Test
  void theSettingMustBeTheFileThatJoclWillOpen() throws Exception {
    Path system = Files.createDirectories(dir.resolve("lib"));
    Files.createSymbolicLink(system.resolve("libOpenCL.so.1"), libzip);
    Map<String, String> env = new HashMap<>(Map.of(OpenClLoader.SETTING, system.resolve("libOpenCL.so.1").toString()));

    OpenClLoader.Result nothing = searchOf(env, system).find();
    assertTrue(nothing.misconfigured());
    assertTrue(nothing.error().startsWith("NODAL_OPENCL_LIBRARY=" + system.resolve("libOpenCL.so.1")
        + " is not the library JOCL will open: JOCL opens libOpenCL.so, which is in none of "), nothing.error());
    assertTrue(nothing.fix().startsWith("start Java with LD_LIBRARY_PATH naming a folder that holds a libOpenCL.so "
        + "link to " + system.resolve("libOpenCL.so.1") + " (./nodal does this itself)"), nothing.fix());

    Path other = Files.createDirectories(dir.resolve("other"));
    Path otherLibrary = Files.copy(libzip, other.resolve("libOpenCL.so"));
    OpenClLoader.Result another = searchOf(env, other, system).find();
    assertTrue(another.misconfigured());
    assertTrue(another.error().endsWith("JOCL opens libOpenCL.so, which is " + otherLibrary), another.error());

    env.put("LD_LIBRARY_PATH", linkFolder(system.resolve("libOpenCL.so.1")).toString());
    OpenClLoader.Result linked = searchOf(env, other, system).find();
    assertNull(linked.error(), linked.error());
    assertEquals(dir.resolve("links/libOpenCL.so"), linked.library());

    OpenClLoader.Result elsewhere = new OpenClLoader(false, env, dir, List.of(), List.of()).find();
    assertTrue(elsewhere.misconfigured() && elsewhere.error().contains("is read on Linux only"), elsewhere.error());
    assertNull(new OpenClLoader(false, Map.of(), dir, List.of(), List.of()).find().error());
  }
}
