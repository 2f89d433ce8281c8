package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;

/** End to end through the command-line entry point, on the shipped 1,000/200 subset. */
class TrainCommandTest {
  /** Two of the 200 test images, as accuracy (with room for its four printed decimals). */
  private static final double TWO_IMAGES = 2 / 200.0 + 1e-4;

  @TempDir Path dir;

  static Path subset() throws Exception {
    return TestData.smallFashionMnist();
  }

  /** Runs the CLI and returns what it printed; fails on a non-zero exit. */
  static String run(String... args) {
    PrintStream saved = System.out;
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    System.setOut(new PrintStream(buf, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.run(args);
    } finally {
      System.setOut(saved);
    }
    String out = buf.toString(StandardCharsets.UTF_8);
    assertEquals(0, code, String.join(" ", args) + " printed:\n" + out);
    return out;
  }

  private String[] train(Path out, int epochs, String... extra) throws Exception {
    List<String> a = new java.util.ArrayList<>(List.of("train", "--data", subset().toString(), "--out", out.toString(),
        "--epochs", Integer.toString(epochs), "--batch-size", "100", "--device", "cpu", "--seed", "3"));
    a.addAll(List.of(extra));
    return a.toArray(new String[0]);
  }

  @Test
  void trainWritesARunFolderThatEvalAgreesWith() throws Exception {
    Path out = dir.resolve("run");
    Logger runFolderLog = (Logger) LoggerFactory.getLogger(RunFolder.class);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    Level level = runFolderLog.getLevel();
    runFolderLog.setLevel(Level.INFO);
    runFolderLog.addAppender(seen);
    String printed;
    try {
      printed = run(train(out, 3));
    } finally {
      runFolderLog.detachAppender(seen);
      runFolderLog.setLevel(level);
    }
    for (String f : new String[] {"metrics.csv", "checkpoint/graph.json", "checkpoint/weights.safetensors",
        "checkpoint/optimizer.safetensors", "checkpoint/trainer.json"}) {
      assertTrue(Files.isRegularFile(out.resolve(f)), f + " exists");
    }
    // A Java runtime that cannot draw (a minimal headless one without fonts) skips curves.png by
    // design, and says so; one that can must draw it.
    List<String> skips = seen.list.stream().map(ILoggingEvent::getFormattedMessage)
        .filter(m -> m.startsWith("curves.png skipped: this Java runtime cannot draw")).toList();
    if (javaCanDraw()) {
      assertTrue(Files.isRegularFile(out.resolve("curves.png")) && Files.size(out.resolve("curves.png")) > 1000,
          "this Java runtime can draw, so curves.png is drawn; logged: " + skips);
      assertTrue(skips.isEmpty(), skips.toString());
      assertTrue(printed.contains("(metrics.csv, curves.png, checkpoint/)"), printed);
    } else {
      System.out.println("this Java runtime cannot draw text: curves.png is skipped, as RunFolder logs: " + skips);
      assertFalse(Files.exists(out.resolve("curves.png")), "no curves.png where Java cannot draw");
      assertEquals(1, skips.size(), "one notice of the skip: " + seen.list);
      assertTrue(printed.contains("(metrics.csv, checkpoint/)"), printed);
    }
    List<String> lines = Files.readAllLines(out.resolve("metrics.csv"));
    assertEquals("epoch,step,loss,train_accuracy,test_loss,test_accuracy,samples_per_s", lines.get(0));
    assertEquals(4, lines.size());
    double first = Double.parseDouble(lines.get(1).split(",")[2]);
    double last = Double.parseDouble(lines.get(3).split(",")[2]);
    assertTrue(last < first, "loss went down: " + first + " -> " + last);
    assertEquals("30", lines.get(3).split(",")[1], "10 steps per epoch");
    double testAccuracy = Double.parseDouble(lines.get(3).split(",")[5]);

    assertEquals(testAccuracy, evalAccuracy(out, "cpu"), 1e-4);
    assertTrue(testAccuracy > 0.5, "a few epochs on 1,000 images beat chance by far: " + testAccuracy);
  }

  /**
   * The cnn-bn model trained on OpenCL (its running statistics updated there), evaluated on the
   * CPU: the same accuracy as the training run's own test pass, and as an evaluation on OpenCL,
   * to within two of the 200 test images. The backends round differently, and a device's exp,
   * sqrt and division may differ from Java's by a few ulp (OpenCL allows it): an image whose two
   * top logits lie that close may change class. One such image each way is two; a bug in a
   * kernel or in restoring the checkpoint changes tens.
   */
  @Test
  void aCheckpointWrittenOnOpenClEvaluatesAlikeOnTheCpu() throws Exception {
    String device = OpenClTests.selector();
    Path out = dir.resolve("opencl");
    run("train", "--model", "cnn-bn", "--data", subset().toString(), "--out", out.toString(), "--epochs", "2",
        "--batch-size", "100", "--device", device, "--seed", "3");
    List<String> lines = Files.readAllLines(out.resolve("metrics.csv"));
    double trained = Double.parseDouble(lines.get(2).split(",")[5]);
    double onCpu = evalAccuracy(out, "cpu"), onDevice = evalAccuracy(out, device);
    assertTrue(trained > 0.5, "two epochs of cnn-bn on 1,000 images beat chance by far: " + trained);
    System.out.printf(java.util.Locale.ROOT, "cnn-bn trained on %s: test accuracy %.4f in training, %.4f by eval on "
        + "the CPU, %.4f by eval on the device%n", device, trained, onCpu, onDevice);
    assertEquals(trained, onCpu, TWO_IMAGES, "the training run's test pass against eval on the CPU");
    assertEquals(onDevice, onCpu, TWO_IMAGES, "eval on OpenCL against eval on the CPU");
  }

  /**
   * {@code --devices cpu,cpu} trains as one device with the same batch does: the same losses
   * per epoch (to rounding), a checkpoint that {@code eval} reads, and a resume on one device.
   */
  @Test
  void twoDevicesTrainAsOneAndWriteTheSameRunFolder() throws Exception {
    Path one = dir.resolve("one"), two = dir.resolve("two");
    run(train(one, 2));
    List<String> args = new java.util.ArrayList<>(List.of(train(two, 2)));
    int at = args.indexOf("--device");
    args.set(at, "--devices");
    args.set(at + 1, "cpu,cpu");
    String printed = run(args.toArray(new String[0]));
    assertTrue(printed.contains("Done: test accuracy"), printed);
    List<String> a = Files.readAllLines(one.resolve("metrics.csv")), b = Files.readAllLines(two.resolve("metrics.csv"));
    assertEquals(a.size(), b.size());
    for (int i = 1; i < a.size(); i++) {
      String[] x = a.get(i).split(","), y = b.get(i).split(",");
      assertEquals(x[1], y[1], "steps");
      assertEquals(Double.parseDouble(x[2]), Double.parseDouble(y[2]), 1e-4, "epoch " + i + " loss");
      assertEquals(Double.parseDouble(x[5]), Double.parseDouble(y[5]), 0.0051, "epoch " + i + " test accuracy");
    }
    double trained = Double.parseDouble(b.get(b.size() - 1).split(",")[5]);
    assertEquals(trained, evalAccuracy(two, "cpu"), 1e-4);
    run("train", "--resume", two.toString(), "--epochs", "3", "--data", subset().toString(), "--device", "cpu");
    assertEquals(4, Files.readAllLines(two.resolve("metrics.csv")).size(), "resumed on one device for a third epoch");

    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    try {
      assertNotEquals(0, Main.run("train", "--device", "cpu", "--devices", "cpu,cpu", "--out", dir.resolve("x").toString()));
    } finally {
      System.setErr(saved);
    }
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("give --device or --devices, not both"), err.toString());
  }

  /**
   * Whether this Java runtime can draw text into an image, as the chart of curves.png needs: a
   * minimal headless runtime without fonts or without java.desktop cannot. Fails as
   * RunFolder's plot does, with a LinkageError or an Exception.
   */
  private static boolean javaCanDraw() {
    System.setProperty("java.awt.headless", "true");
    try {
      java.awt.image.BufferedImage image = new java.awt.image.BufferedImage(64, 16,
          java.awt.image.BufferedImage.TYPE_INT_ARGB);
      java.awt.Graphics2D g = image.createGraphics();
      try {
        g.setFont(new java.awt.Font(java.awt.Font.SANS_SERIF, java.awt.Font.PLAIN, 12));
        g.drawString("epoch 0.5", 0, 12);
        return g.getFontMetrics().stringWidth("epoch") > 0;
      } finally {
        g.dispose();
      }
    } catch (LinkageError | Exception e) {
      return false;
    }
  }

  private double evalAccuracy(Path run, String device) throws Exception {
    String eval = run("eval", "--checkpoint", run.toString(), "--data", subset().toString(), "--device", device);
    Matcher m = Pattern.compile("accuracy (\\d\\.\\d+)").matcher(eval);
    assertTrue(m.find(), eval);
    return Double.parseDouble(m.group(1));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "--optimizer adam --opt clip_norm=1", "--optimizer adamw --schedule step --schedule-opt step_size=5",
      "--opt nesterov=true --schedule-opt warmup_steps=7"})
  void resumingGivesTheSameWeightsAndOptimizerStateBitForBit(String options) throws Exception {
    Path straight = dir.resolve("straight");
    Path resumed = dir.resolve("resumed");
    String[] extra = options.isEmpty() ? new String[0] : options.split(" ");
    run(train(straight, 3, extra));
    String[] stopped = java.util.Arrays.copyOf(extra, extra.length + 2);
    stopped[extra.length] = "--stop-after";
    stopped[extra.length + 1] = "1";
    run(train(resumed, 3, stopped));
    assertEquals(2, Files.readAllLines(resumed.resolve("metrics.csv")).size(), "one epoch, then stopped");
    run("train", "--resume", resumed.toString(), "--data", subset().toString(), "--device", "cpu");
    byte[] a = Files.readAllBytes(straight.resolve("checkpoint/weights.safetensors"));
    byte[] b = Files.readAllBytes(resumed.resolve("checkpoint/weights.safetensors"));
    assertArrayEquals(a, b);
    assertArrayEquals(Files.readAllBytes(straight.resolve("checkpoint/optimizer.safetensors")),
        Files.readAllBytes(resumed.resolve("checkpoint/optimizer.safetensors")));
    assertEquals(Files.readAllLines(straight.resolve("metrics.csv")).size(), Files.readAllLines(resumed.resolve("metrics.csv")).size());
  }

  /** --stop-after names an epoch of the whole run, with --resume too; the message names the epoch reached. */
  @Test
  void stopAfterCountsEpochsFromTheRunsStartWhenResuming() throws Exception {
    Path out = dir.resolve("run");
    String data = subset().toString();
    assertTrue(run(train(out, 4, "--stop-after", "2")).contains("Stopped after epoch 2 of 4;"));
    CliBehaviourTest.Outcome early = CliBehaviourTest.run("train", "--resume", out.toString(), "--data", data, "--device",
        "cpu", "--stop-after", "1");
    assertEquals(1, early.code(), early.err());
    assertEquals("nodal train: --stop-after 1: the run has done 2 of 4 epochs already, and --stop-after names an epoch "
        + "of the whole run; give one from 3 to 4, or leave it out to finish the run", early.err().strip());
    assertEquals(3, Files.readAllLines(out.resolve("metrics.csv")).size(), "nothing was trained");
    String next = run("train", "--resume", out.toString(), "--data", data, "--device", "cpu", "--stop-after", "3");
    assertTrue(next.contains("Stopped after epoch 3 of 4; continue with"), next);
    assertEquals(4, Files.readAllLines(out.resolve("metrics.csv")).size(), "one more epoch");
  }

  @Test
  void graphCommandColoursTheThreeKindsOfNode() throws Exception {
    Path dot = dir.resolve("mlp.dot");
    run("graph", "--model", "mlp", "--out", dot.toString());
    String text = Files.readString(dot);
    assertTrue(text.contains("\"x\" [label=\"x\\ninput [N, 784]\", fillcolor=lightblue"), text);
    assertTrue(text.contains("\"fc1.W\" [label=\"fc1.W\\nparam [784, 256]\", fillcolor=orange"), text);
    assertTrue(text.contains("fillcolor=white"), text);
    assertTrue(text.contains("\"fc1.W\" -> \"fc1\";"), text);
  }

  @Test
  void missingDataIsOneClearError() {
    PrintStream saved = System.err;
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
    int code;
    try {
      code = Main.run("eval", "--checkpoint", dir.resolve("nothing").toString());
    } finally {
      System.setErr(saved);
    }
    assertNotEquals(0, code);
    assertTrue(err.toString(StandardCharsets.UTF_8).contains("no checkpoint here"), err.toString(StandardCharsets.UTF_8));
  }
}
