package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import dev.nodal.testkit.SpecialFiles;
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

  /** The command line, for listing its commands (no command runs, so the settings do not matter). */
  private static CommandLine commandLine() {
    return new CommandLine(new Main(dev.nodal.devices.NodalOptions.defaults(), dev.nodal.data.DataOptions.defaults()));
  }

  @Test
  void everyCommandHasHelp() {
    int commands = 0;
    for (String name : commandLine().getSubcommands().keySet()) {
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
    for (String name : commandLine().getSubcommands().keySet()) {
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
    Path data = TestData.smallFashionMnist();
    Path json = dir.resolve("epoch.json");
    Outcome r = run("bench", "mlp-epoch", "--data", data.toString(), "--device", "cpu", "--repeats", "2", "--inner", "1",
        "--json", json.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(Pattern.compile("mlp-epoch cpu: min [\\d.]+ ms, median [\\d.]+ ms per op \\(\\d+ samples/s at batch 128")
        .matcher(r.out()).find(), r.out());
    String written = Files.readString(json);
    assertTrue(written.contains("\"examples\" : 1000") && written.contains("\"runs\" : 2"), written);
    var runs = new com.fasterxml.jackson.databind.ObjectMapper().readTree(written).get(0).get("runs_ms");
    assertEquals(2, runs.size(), written);
    assertTrue(runs.get(0).asDouble() > 0 && runs.get(0).asDouble() <= runs.get(1).asDouble(), "each run, sorted: " + written);
    Path broken = Files.createDirectories(dir.resolve("broken"));
    for (String f : dev.nodal.data.FashionMnist.FILES) Files.writeString(broken.resolve(f), "not idx");
    Outcome bad = run("bench", "mlp-epoch", "--data", broken.toString(), "--device", "cpu");
    assertEquals(1, bad.code());
    assertTrue(bad.err().contains("mlp-epoch needs Fashion-MNIST") && bad.err().contains("train-images-idx3-ubyte"),
        bad.err());
  }

  /**
   * Runs {@code nodal bench WORKLOAD} once on the CPU with {@code --json} into {@code json}, checks
   * that it succeeds and prints a line matching {@code line}; returns what it wrote.
   */
  static String benchOnce(Path json, String workload, String line) throws java.io.IOException {
    Outcome r = run("bench", workload, "--device", "cpu", "--repeats", "1", "--inner", "1", "--json", json.toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(Pattern.compile(line).matcher(r.out()).find(), r.out());
    return Files.readString(json);
  }

  /** cnn-bn times the cnn-bn model's training step (PyTorch's: bench/torch_cnn_step.py with cnn-bn). */
  @Test
  void benchTimesTheBatchNormCnn() throws Exception {
    String written = benchOnce(dir.resolve("cnn-bn.json"), "cnn-bn",
        "cnn-bn cpu: min [\\d.]+ ms, median [\\d.]+ ms per op \\(\\d+ samples/s at batch 256");
    assertTrue(written.contains("\"workload\" : \"cnn-bn\"") && written.contains("\"batch\" : 256")
        && written.contains("\"conv\" : \"auto\""), written);
  }

  /**
   * The test jar's example.backends.WrappedCpuProvider, registered in these tests' resources:
   * --device takes its name.
   */
  @Test
  void aBackendProvidersNameIsADevice() {
    Outcome r = run("parity", "--device", "wrapped-cpu:cli", "--reference", "cpu", "--batch", "4");
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("wrapped-cpu:cli"), r.out());
    Outcome bad = run("parity", "--device", "wrapped-gpu", "--reference", "cpu");
    assertTrue(bad.code() != 0 && bad.err().contains("[wrapped-cpu]"), bad.err());
  }

  /** The attribute schemas are the one source: what ops prints is what the graph file reader checks. */
  @Test
  void opsListsEveryNodeTypeWithItsAttributes() {
    Outcome r = run("ops");
    assertEquals(0, r.code(), r.err());
    for (dev.nodal.ops.OpCatalogue.Entry e : dev.nodal.ops.OpCatalogue.entries()) {
      assertTrue(r.out().contains(e.kind() + "  " + e.type().getSimpleName()), e.kind() + " missing:\n" + r.out());
    }
    assertTrue(r.out().contains("    activation: one of none, relu, sigmoid, tanh, default none"), r.out());
    assertTrue(r.out().contains("    kernel: integer, at least 1, required"), r.out());
    assertTrue(r.out().contains("    p: number, in [0, 1), required"), r.out());
    assertTrue(r.out().contains("    eps: number, greater than 0, default 0.00001"), r.out());
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

  /**
   * graph --out and tune --cache aimed at a device node or a FIFO: refused with the path and what
   * it is, before any device is opened, and left exactly as they were.
   */
  @Test
  void graphAndTuneRefuseToReplaceADeviceOrAFifo() throws Exception {
    java.util.Map<String, Path> targets = new java.util.LinkedHashMap<>();
    Path device = SpecialFiles.charDevice(dir.resolve("null"));
    if (device != null) targets.put("a character device", device);
    Path fifo = SpecialFiles.fifo(dir.resolve("fifo"));
    if (fifo != null) targets.put("a FIFO (named pipe)", fifo);
    org.junit.jupiter.api.Assumptions.assumeFalse(targets.isEmpty(), "neither mknod nor mkfifo works here");
    int runs = 0, refused = 0;
    for (var t : targets.entrySet()) {
      for (String[] args : new String[][] {{"graph", "--model", "mlp", "--out", t.getValue().toString()},
          {"tune", "--device", "cpu", "--cache", t.getValue().toString()}}) {
        runs++;
        String before = SpecialFiles.identity(t.getValue());
        Outcome r = run(args);
        assertEquals(1, r.code(), String.join(" ", args) + ": " + r.err());
        assertTrue(r.err().startsWith("nodal " + args[0] + ": will not write " + t.getValue() + ": it is " + t.getKey()),
            r.err());
        assertFalse(r.err().contains("Exception") || r.err().contains("\tat "), r.err());
        assertEquals(before, SpecialFiles.identity(t.getValue()), "untouched: " + String.join(" ", args));
        refused++;
      }
    }
    System.out.printf("graph --out and tune --cache at %s: %d runs, %d refused, target unchanged%n", targets.keySet(), runs,
        refused);
    assertEquals(runs, refused);
    assertTrue(runs >= 2, "runs: " + runs);
  }

  /** graph's SVG, which Graphviz writes in place beside the DOT file, is skipped where a FIFO or device sits. */
  @Test
  void graphDrawsNoSvgOverAFifo() throws Exception {
    Path svg = SpecialFiles.fifo(dir.resolve("g.svg"));
    org.junit.jupiter.api.Assumptions.assumeTrue(svg != null, "mkfifo is not available");
    String before = SpecialFiles.identity(svg);
    Outcome r = run("graph", "--model", "mlp", "--out", dir.resolve("g.dot").toString());
    assertEquals(0, r.code(), r.err());
    assertTrue(r.out().contains("wrote " + dir.resolve("g.dot")), r.out());
    assertTrue(r.out().contains("no SVG: will not write " + svg + ": it is a FIFO (named pipe)"), r.out());
    assertEquals(before, SpecialFiles.identity(svg));
  }

  @Test
  void parityRefusesABatchItCannotRun() {
    String[][] cases = {{"-1", "--batch must be at least 1, got -1"}, {"0", "--batch must be at least 1, got 0"},
        {"3000000", "--batch 3000000 is too large"}};
    for (String[] c : cases) {
      Outcome r = run("parity", "--device", "cpu", "--reference", "cpu", "--batch", c[0]);
      assertEquals(1, r.code(), r.err());
      assertTrue(r.err().startsWith("nodal parity: " + c[1]), r.err());
      assertFalse(r.err().contains("internal error") || r.err().contains("Exception"), r.err());
    }
    System.out.printf("parity --batch: %d bad values refused%n", cases.length);
  }

  /** A --json that cannot be written is refused before anything is measured, naming the file. */
  @Test
  void benchChecksItsJsonFileBeforeMeasuring() throws Exception {
    Path plain = Files.writeString(dir.resolve("plain.txt"), "a file");
    java.util.Map<Path, String> cases = new java.util.LinkedHashMap<>();
    cases.put(dir.resolve("absent/x.json"), dir.resolve("absent") + " does not exist");
    cases.put(plain.resolve("x.json"), plain + " is not a folder");
    Path fifo = SpecialFiles.fifo(dir.resolve("fifo.json"));
    if (fifo != null) cases.put(fifo, "will not write " + fifo + ": it is a FIFO (named pipe)");
    cases.put(dir, "will not write " + dir + ": it is a folder");
    for (var c : cases.entrySet()) {
      Outcome r = run("bench", "gemm", "--device", "cpu", "--size", "8", "--repeats", "1", "--inner", "1", "--json",
          c.getKey().toString());
      assertEquals(1, r.code(), r.err());
      assertTrue(r.err().startsWith("nodal bench: --json " + c.getKey() + ": ") && r.err().contains(c.getValue()), r.err());
      assertFalse(r.out().contains("gemm cpu"), "nothing was measured: " + r.out());
      assertFalse(r.err().contains("Exception"), r.err());
    }
    assertFalse(Files.exists(dir.resolve("absent")), "no folder was made");
    System.out.printf("bench --json: %d unwritable files refused before measuring%n", cases.size());
  }

  /** An index too large for any platform or device is named, not passed on as a number format error. */
  @Test
  void aDeviceIndexPastAnyThereCanBeIsNamed() {
    String[][] commands = {{"parity", "--batch", "2", "--device"}, {"parity", "--batch", "2", "--reference"},
        {"bench", "gemm", "--size", "8", "--device"}, {"tune", "--device"}, {"eval", "--checkpoint", "x", "--device"}};
    int refused = 0;
    for (String[] command : commands) {
      for (String selector : new String[] {"opencl:99999999999:0", "opencl:0:99999999999"}) {
        String[] args = java.util.Arrays.copyOf(command, command.length + 1);
        args[command.length] = selector;
        Outcome r = run(args);
        assertEquals(1, r.code(), String.join(" ", args) + ": " + r.err());
        assertTrue(r.err().contains("device '" + selector + "': ") && r.err().contains("99999999999 is out of range"),
            r.err());
        assertFalse(r.err().contains("For input string") || r.err().contains("Exception"), r.err());
        refused++;
      }
    }
    System.out.printf("--device with an index past any: %d runs refused%n", refused);
    assertEquals(2 * commands.length, refused);
  }
}
