package dev.nodal.backend.opencl;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Keeps OpenCL drivers from killing the JVM through its signal handlers.
 *
 * <p>HotSpot handles SIGSEGV and SIGBUS itself: safepoint polls, implicit null checks and stack
 * banging all fault on purpose. Some OpenCL drivers install handlers of their own for these
 * signals when they are first used; PoCL does, through LLVM's {@code RemoveFileOnSignal}. From
 * then on an ordinary, expected fault inside the JVM reaches LLVM's handler, which re-raises it
 * and the process dies (exit 139), even on runs that never touch the device again.
 *
 * <p>HotSpot's signal-chaining library, {@code libjsig}, preloaded at start-up, keeps the JVM's
 * handlers first and passes on only the signals the JVM does not claim. {@code ./nodal},
 * {@code native-check} and the Maven test runs start Java with it; an application that embeds
 * Nodal starts its JVM the same way:
 *
 * <pre>LD_PRELOAD=$JAVA_HOME/lib/libjsig.so java ...</pre>
 *
 * On Linux, OpenCL is not loaded into a JVM that lacks it (the probe reports why and how to fix
 * it, and {@code --device auto} runs on the CPU backend), unless {@code NODAL_OPENCL_UNCHAINED=1}
 * ({@link OpenClOptions#unchained()}) accepts the risk.
 *
 * <p>The operating system and {@code java.home} are read here, where needed: they are facts of
 * the running JVM, not settings, and no backend may see others.
 */
public final class SignalChaining {
  /** The environment variable that loads OpenCL without signal chaining, at the risk of a crash. */
  public static final String OVERRIDE = "NODAL_OPENCL_UNCHAINED";

  private SignalChaining() {}

  /** True where drivers can take over the JVM's signals and libjsig is the remedy (Linux). */
  public static boolean needed() {
    return System.getProperty("os.name", "").toLowerCase().contains("linux");
  }

  /** True when HotSpot's signal-chaining library is loaded in this process. */
  public static boolean active() {
    try {
      return Files.readString(Path.of("/proc/self/maps")).contains("/" + library());
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** Null when OpenCL may be loaded into this JVM, or {@code unchained} accepts the risk; otherwise why not. */
  static String refusal(boolean unchained) {
    if (unchained || !needed() || active()) return null;
    return "OpenCL was not loaded because this JVM runs without signal chaining: OpenCL drivers such as PoCL "
        + "replace the JVM's SIGSEGV handler, and the JVM can then die at any safepoint";
  }

  /** The fix for {@link #refusal()}, with this JVM's own library path. */
  static String fix() {
    return "start Java with LD_PRELOAD=" + Path.of(System.getProperty("java.home"), "lib", library())
        + " (./nodal does), or set " + OVERRIDE + "=1 to load OpenCL anyway at the risk of a crash";
  }

  private static String library() {
    return System.mapLibraryName("jsig");
  }
}
