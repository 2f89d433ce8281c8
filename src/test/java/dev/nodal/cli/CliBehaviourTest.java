package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line behaves like one: help everywhere, words for ratios, errors before work. */
class CliBehaviourTest {
  @TempDir Path dir;

  /** Exit status, standard output and standard error of one run of the command line. */
  record Outcome(int code, String out, String err) {}

  static Outcome run(String... args) {
    PrintStream out = System.out, err = System.err;
    ByteArrayOutputStream o = new ByteArrayOutputStream(), e = new ByteArrayOutputStream();
    System.setOut(new PrintStream(o, true, StandardCharsets.UTF_8));
    System.setErr(new PrintStream(e, true, StandardCharsets.UTF_8));
    try {
      return new Outcome(Main.run(args), o.toString(StandardCharsets.UTF_8), e.toString(StandardCharsets.UTF_8));
    } finally {
      System.setOut(out);
      System.setErr(err);
    }
  }

  @Test
  void everyCommandHasHelp() {
    int commands = 0;
    for (String name : new CommandLine(new Main()).getSubcommands().keySet()) {
      for (String[] args : new String[][] {{name, "--help"}, {name, "-h"}, {"help", name}}) {
        Outcome r = run(args);
        assertEquals(0, r.code(), String.join(" ", args) + ": " + r.err());
        assertTrue(r.out().contains("Usage: nodal " + name), String.join(" ", args) + " printed:\n" + r.out());
      }
      commands++;
    }
    assertTrue(commands >= 9, "commands: " + commands);
  }

  /** Every --model option lists the models to choose from and says which is the default. */
  @Test
  void everyModelOptionListsItsChoicesAndDefault() {
    int options = 0;
    for (String name : new CommandLine(new Main()).getSubcommands().keySet()) {
      String help = run(name, "--help").out().replaceAll("\\s+", " ");
      int at = help.indexOf("--model=<model> ");
      if (at < 0) continue;
      int end = help.indexOf(" --", at + 1);
      String description = help.substring(at, end < 0 ? help.length() : end);
      for (String model : dev.nodal.train.ModelZoo.NAMES) {
        assertTrue(description.contains(model), name + " --help does not offer " + model + ": " + description);
      }
      assertTrue(description.contains("mlp (default)") || description.contains("(default mlp)"), name + " --help hides the default model: " + description);
      options++;
    }
    System.out.println(options + " --model options list every model and the default");
    assertTrue(options >= 4, "--model options found: " + options);
  }

  @Test
  void benchSaysFasterOrSlowerInWordsAndRefusesBadCounts() {
    Outcome r = run("bench", "gemm", "--device", "cpu,cpu", "--size", "32", "--repeats", "3", "--inner", "1");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("the reference"), r.out());
    assertTrue(Pattern.compile("\\d\\.\\d\\d× (faster|slower) than cpu \\(medians\\)").matcher(r.out()).find(), r.out());
    Outcome zero = run("bench", "gemm", "--device", "cpu", "--repeats", "0");
    assertEquals(1, zero.code());
    assertEquals("nodal bench: --repeats must be at least 1, got 0", zero.err().strip());
    Outcome huge = run("bench", "gemm", "--device", "cpu", "--size", "100000");
    assertEquals(1, huge.code());
    assertTrue(huge.err().contains("--size must be between 1 and 46340"), huge.err());
  }

  @Test
  void benchTimesAnEpochOfTheDataAndWritesJson() throws Exception {
    Path data = Path.of(CliBehaviourTest.class.getResource("/fashion-mnist-small").toURI());
    Path json = dir.resolve("epoch.json");
    Outcome r = run("bench", "mlp-epoch", "--data", data.toString(), "--device", "cpu", "--repeats", "2", "--inner", "1",
        "--json", json.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(Pattern.compile("mlp-epoch cpu: min [\\d.]+ ms, median [\\d.]+ ms per op \\(\\d+ samples/s at batch 128")
        .matcher(r.out()).find(), r.out());
    String written = Files.readString(json);
    assertTrue(written.contains("\"examples\" : 1000") && written.contains("\"runs\" : 2"), written);
    Path broken = Files.createDirectories(dir.resolve("broken"));
    for (String f : dev.nodal.data.FashionMnist.FILES) Files.writeString(broken.resolve(f), "not idx");
    Outcome bad = run("bench", "mlp-epoch", "--data", broken.toString(), "--device", "cpu");
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains("mlp-epoch needs Fashion-MNIST") && bad.err().contains("train-images-idx3-ubyte"),
        bad.err());
  }

  @Test
  void parityTolerancesAgreeWithTheVerdicts() {
    Outcome r = run("parity", "--device", "cpu", "--reference", "cpu", "--batch", "4");
    assertEquals(0, r.code(), r.err());
    Pattern row = Pattern.compile("^(\\S+)\\s+\\S+\\s+(\\S+)\\s+\\S+\\s+(\\S+)\\s+(\\S+)\\s+\\S+\\s+(\\S+)\\s+(ok|DIVERGES)$",
        Pattern.MULTILINE);
    Matcher m = row.matcher(r.out());
    int rows = 0;
    while (m.find()) {
      boolean valueOk = Double.parseDouble(m.group(2)) <= Double.parseDouble(m.group(3));
      boolean gradOk = m.group(4).equals("-") || Double.parseDouble(m.group(4)) <= Double.parseDouble(m.group(5));
      assertEquals(valueOk && gradOk ? "ok" : "DIVERGES", m.group(6), m.group());
      rows++;
    }
    assertTrue(rows > 5, r.out());
  }

  @Test
  void graphWritesIntoTheRunFolder() throws Exception {
    Path runFolder = dir.resolve("run");
    Outcome t = run("train", "--data", TrainCommandTest.subset().toString(), "--out", runFolder.toString(), "--epochs", "1",
        "--device", "cpu");
    assertEquals(0, t.code(), t.err());
    Outcome g = run("graph", "--checkpoint", runFolder.toString());
    assertEquals(0, g.code(), g.err());
    assertTrue(Files.exists(runFolder.resolve("graph.dot")), g.out());
    assertFalse(Files.exists(Path.of("graph.dot")), "nothing is written into the current directory");
  }
}
