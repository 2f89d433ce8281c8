package dev.nodal.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Runs a class's {@code main} in a new JVM with this test run's class path, for tests whose
 * failure would be the death of the JVM itself.
 */
public final class ChildJvm {
  private ChildJvm() {}

  /** How a child ended: its exit status (128 + the signal's number when a signal killed it). */
  public record Result(int exitCode, String output) {
    /** True when a signal ended the process (SIGSEGV is 139, SIGABRT 134). */
    public boolean diedBySignal() {
      return exitCode > 128;
    }
  }

  /**
   * Runs {@code main} with {@code env} added to (or, for a null value, removed from) this
   * process's environment. Times out after {@code seconds}, which is a failure of its own.
   */
  public static Result run(Class<?> main, Map<String, String> env, long seconds, String... args) {
    return runIn(null, main, env, seconds, args);
  }

  /** As {@link #run}, in the working directory {@code workDir} (this process's when null). */
  public static Result runIn(Path workDir, Class<?> main, Map<String, String> env, long seconds, String... args) {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), main.getName()));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    if (workDir != null) pb.directory(workDir.toFile());
    env.forEach((k, v) -> {
      if (v == null) pb.environment().remove(k);
      else pb.environment().put(k, v);
    });
    try {
      Process p = pb.start();
      // Drained on this thread after exit would risk a full pipe; read it as it comes.
      byte[][] out = new byte[1][];
      Thread reader = new Thread(() -> {
        try {
          out[0] = p.getInputStream().readAllBytes();
        } catch (IOException e) {
          out[0] = ("(output lost: " + e + ")").getBytes(StandardCharsets.UTF_8);
        }
      });
      reader.start();
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly().waitFor();
        reader.join();
        throw new AssertionError(main.getSimpleName() + " did not end within " + seconds + " s; output:\n"
            + new String(out[0], StandardCharsets.UTF_8));
      }
      reader.join();
      return new Result(p.exitValue(), new String(out[0], StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw new AssertionError("cannot start a child JVM: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new AssertionError("interrupted", e);
    }
  }
}
