package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every train option is checked before a run folder is created, any data is read or any device is
 * opened, and errors use the option's own words with no stack trace.
 */
class ValidationTest {
  @TempDir Path dir;

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource(delimiter = '|', value = {
      "--batch-size|0|--batch-size must be at least 1, got 0",
      "--batch-size|100000000|--batch-size",
      "--epochs|0|--epochs must be at least 1, got 0",
      "--stop-after|0|--stop-after must be at least 1, got 0",
      "--device|gpu|unknown device 'gpu': use auto, cpu, opencl or opencl:P:D",
      "--lr|-1|sgd: lr out of range: -1.0",
      "--model|resnet|--model resnet: unknown; known: mlp",
      "--optimizer|rmsprop|unknown optimizer 'rmsprop'; known: [sgd, adam, adamw]",
      "--opt|beta9=1|sgd: unknown hyper-parameter 'beta9'",
      "--schedule|linear|unknown schedule 'linear': use constant, cosine or step",
      "--device|opencl:99999999999:0|device 'opencl:99999999999:0': platform index 99999999999 is out of range",
      "--device|opencl:9:9|no OpenCL device opencl:9:9",
      "--schedule-opt|t_max=0|schedule cosine: t_max must be at least 1, got 0.0"})
  void badOptionsAreRefusedBeforeAnythingIsCreated(String option, String value, String message) throws Exception {
    Path out = dir.resolve("run");
    List<String> args = new java.util.ArrayList<>(List.of("train", "--data", TrainCommandTest.subset().toString(), "--out",
        out.toString(), option, value));
    if (!option.equals("--device")) args.addAll(List.of("--device", "cpu"));
    if (!option.equals("--epochs")) args.addAll(List.of("--epochs", "1"));
    if (value.equals("opencl:9:9")
        && !dev.nodal.backend.opencl.OpenCl.probe(dev.nodal.devices.NodalOptions.fromEnvironment().openCl()).usable()) {
      message = "device 'opencl:9:9' needs OpenCL, which is not usable"; // on a machine without OpenCL
    }
    CliBehaviourTest.Outcome r = CliBehaviourTest.run(args.toArray(new String[0]));
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().startsWith("nodal train: ") && r.err().contains(message), r.err());
    assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
    assertFalse(Files.exists(out), "no run folder is left behind");
  }

  @Test
  void resumeWithOtherSettingsListsTheDifferences() throws Exception {
    Path out = dir.resolve("run");
    String data = TrainCommandTest.subset().toString();
    assertEquals(0, CliBehaviourTest.run("train", "--data", data, "--out", out.toString(), "--epochs", "2", "--stop-after",
        "1", "--device", "cpu").code());
    CliBehaviourTest.Outcome r = CliBehaviourTest.run("train", "--resume", out.toString(), "--data", data, "--device", "cpu",
        "--batch-size", "64", "--optimizer", "adam");
    assertEquals(1, r.code());
    assertTrue(r.err().contains("--batch-size 64 (checkpoint: 128)") && r.err().contains("optimizer adam")
        && r.err().contains("only --epochs (to extend it), --stop-after, --device and --data may change"), r.err());
    assertEquals(0, CliBehaviourTest.run("train", "--resume", out.toString(), "--data", data, "--device", "cpu",
        "--batch-size", "128", "--epochs", "3").code(), "a setting equal to the checkpoint's, and more epochs, are fine");
    assertEquals(4, Files.readAllLines(out.resolve("metrics.csv")).size());
    CliBehaviourTest.Outcome done = CliBehaviourTest.run("train", "--resume", out.toString(), "--data", data, "--device", "cpu");
    assertEquals(1, done.code());
    assertTrue(done.err().contains("has done 3 of 3 epochs already"), done.err());
  }

  @Test
  void aMalformedCommandLineNamesTheOptionWithoutAStackTrace() {
    CliBehaviourTest.Outcome r = CliBehaviourTest.run("train", "--opt");
    assertEquals(2, r.code(), r.err());
    assertTrue(r.err().contains("Missing required parameter for option '--opt'"), r.err());
    assertFalse(r.err().contains("\tat "), r.err());
  }

  /**
   * Schedule options that would make a rate NaN or infinite in the middle of the run are refused
   * up front, before the run folder is made.
   */
  @Test
  void scheduleOptionsAreCheckedBeforeTheRunFolderIsMade() throws Exception {
    String[][] cases = {
        {"cosine", "t_max=0", "schedule cosine: t_max must be at least 1, got 0.0"},
        {"cosine", "t_max=0.5", "schedule cosine: t_max must be at least 1, got 0.5"},
        {"cosine", "min_lr=1e39", "schedule cosine: min_lr must be at most"},
        {"cosine", "t_max=NaN", "schedule cosine: t_max must be finite and >= 0, got NaN"},
        {"cosine", "t_max=nan", "schedule cosine: t_max=nan is not a number"},
        {"step", "step_size=0", "schedule step: step_size must be at least 1, got 0.0"},
        {"step", "gamma=10", "schedule step: gamma must be at most 1, got 10.0"},
        {"constant", "warmup_start=1e40", "schedule constant: warmup_start must be at most 1, got 1.0E40"},
        {"constant", "warmup_steps=-1", "schedule constant: warmup_steps must be finite and >= 0, got -1.0"}};
    int refused = 0;
    for (String[] c : cases) {
      Path out = dir.resolve("run-" + refused);
      CliBehaviourTest.Outcome r = CliBehaviourTest.run("train", "--data", TrainCommandTest.subset().toString(), "--out",
          out.toString(), "--device", "cpu", "--epochs", "1", "--schedule", c[0], "--schedule-opt", c[1]);
      assertEquals(1, r.code(), c[1] + ": " + r.err());
      assertTrue(r.err().startsWith("nodal train: " + c[2]), c[1] + ": " + r.err());
      assertFalse(Files.exists(out), c[1] + ": no run folder is left behind");
      refused++;
    }
    System.out.printf("schedule options: %d bad values refused before the run folder%n", refused);
    assertEquals(cases.length, refused);
  }
}
