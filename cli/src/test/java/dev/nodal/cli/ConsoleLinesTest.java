package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * On a terminal, where training draws a progress bar, every line Nodal logs starts a line of its
 * own: the bar ends its line when it closes and never moves the cursor up, so it neither runs
 * into the next log line nor overwrites a line printed below it (by a native library, say). The
 * terminal is a pseudo-terminal made by util-linux's {@code script}; without it the test is
 * skipped.
 */
class ConsoleLinesTest {
  private static final Pattern LOGGED = Pattern.compile("\\d\\d:\\d\\d:\\d\\d (TRACE|DEBUG|INFO |WARN |ERROR) ");
  private static final String CURSOR_UP = "\u001b[1A";

  @TempDir Path dir;

  @Test
  void logLinesStartLinesOfTheirOwnAfterTheProgressBar() throws Exception {
    Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/script")), "util-linux script is not installed");
    Path data = TestData.smallFashionMnist();
    Path logging = Path.of(Main.class.getResource("/logback.xml").toURI()); // the command line's, not the tests'
    List<String> java = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--add-modules",
        "jdk.incubator.vector", "-Dlogback.configurationFile=" + logging, "-cp", System.getProperty("java.class.path"), Main.class.getName(), "train", "--device",
        "cpu", "--data", data.toString(), "--epochs", "2", "--batch-size", "100", "--out", dir.resolve("run").toString());
    String output = onTerminal(java);
    int logged = 0, bars = 0;
    List<String> broken = new ArrayList<>();
    for (String line : output.split("\n")) {
      String l = line.endsWith("\r") ? line.substring(0, line.length() - 1) : line; // the terminal's CR LF
      if (l.contains("epoch 1 ") && l.contains("%")) bars++;
      if (!LOGGED.matcher(l).find()) continue;
      logged++;
      if (!LOGGED.matcher(l).lookingAt()) broken.add(l.replace("\u001b", "ESC").replace("\r", "\\r"));
    }
    System.out.printf("on a terminal: %d log lines, %d of them not at the start of a line; %d progress lines; "
        + "cursor moved up %d times%n", logged, broken.size(), bars, output.split(Pattern.quote(CURSOR_UP), -1).length - 1);
    assertTrue(bars > 0, "no progress bar was drawn, so nothing was tested:\n" + output);
    assertTrue(logged >= 3, output); // the data read, the start, an INFO line per epoch
    assertEquals(List.of(), broken);
    assertFalse(output.contains(CURSOR_UP), "the progress bar moves the cursor up, over lines printed by others");
  }

  /** Runs {@code command} on a pseudo-terminal; returns all it printed (standard output and error). */
  private String onTerminal(List<String> command) throws IOException, InterruptedException {
    StringBuilder shell = new StringBuilder();
    for (String word : command) shell.append('\'').append(word.replace("'", "'\\''")).append("' ");
    Path log = dir.resolve("terminal.txt");
    Process p = new ProcessBuilder("/usr/bin/script", "-qfec", shell.toString(), log.toString())
        .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
        .redirectErrorStream(true).redirectOutput(dir.resolve("script.txt").toFile()).start();
    if (!p.waitFor(180, TimeUnit.SECONDS)) {
      p.destroyForcibly().waitFor();
      throw new AssertionError("training on a terminal did not end within 180 s");
    }
    String out = Files.readString(log, StandardCharsets.UTF_8);
    assertEquals(0, p.exitValue(), out);
    return out;
  }
}
