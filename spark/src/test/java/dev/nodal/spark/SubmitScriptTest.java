package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code spark/submit}: the driver's options reach the driver's JVM (which is the launcher's own
 * in client and local mode), the Vector API module is there, and the application's arguments stay
 * the application's, even where they look like spark-submit's.
 */
class SubmitScriptTest {
  /** What the driver's JVM was given, printed as the application. */
  public static final class Probe {
    public static void main(String[] args) {
      System.out.println("probe: foo=" + System.getProperty("foo") + " max-heap-MiB=" + Runtime.getRuntime().maxMemory() / (1 << 20)
          + " vector=" + ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent() + " args="
          + String.join(" ", args));
    }
  }

  private static String submit(String... args) throws IOException, InterruptedException {
    Path script = Path.of("submit").toAbsolutePath();
    List<String> command = new java.util.ArrayList<>(List.of("bash", script.toString()));
    command.addAll(List.of(args));
    Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
    byte[] out = p.getInputStream().readAllBytes();
    assertTrue(p.waitFor(180, TimeUnit.SECONDS), "spark/submit did not end");
    String text = new String(out, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), text);
    return text;
  }

  @Test
  void theDriversOptionsReachItsJvm() throws Exception {
    String classes = Path.of("target", "test-classes").toAbsolutePath().toString();
    String out = submit("--master", "local[1]", "--driver-java-options", "-Dfoo=bar -Dunused=1", "--driver-memory=600m",
        "--driver-class-path", classes, "--class", Probe.class.getName(), classes, "--driver-memory", "5g", "--epochs", "1");
    assertTrue(out.contains("probe: foo=bar max-heap-MiB=600 vector=true args=--driver-memory 5g --epochs 1"), out);
  }
}
