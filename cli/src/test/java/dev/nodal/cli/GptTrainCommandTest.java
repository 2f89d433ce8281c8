package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.io.Checkpoint;
import dev.nodal.train.GptModel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code nodal train --model gpt} end to end on a small text, with a tiny model. */
class GptTrainCommandTest {
  @TempDir Path dir;

  private Path text() throws Exception {
    String s = "The miller opened the gate, and the water turned the wheel, and the wheel turned the stone. ".repeat(30);
    Path f = dir.resolve("mill.txt");
    Files.writeString(f, s, StandardCharsets.UTF_8);
    return f;
  }

  private String[] train(Path out, String... extra) throws Exception {
    List<String> a = new ArrayList<>(List.of("train", "--model", "gpt", "--data", text().toString(), "--out", out.toString(),
        "--device", "cpu", "--context", "8", "--layers", "1", "--heads", "2", "--width", "16", "--batch-size", "4",
        "--eval-every", "3", "--epochs", "3", "--seed", "5"));
    a.addAll(List.of(extra));
    return a.toArray(new String[0]);
  }

  @Test
  void aTinyGptTrainsWritesValidationLossAndResumesBitForBit() throws Exception {
    Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
    String done = TrainCommandTest.run(train(straight));
    assertTrue(done.contains("Done: validation loss "), done);
    assertTrue(done.contains("bits per byte) after 3 epochs (9 steps)"), done);
    List<String> rows = Files.readAllLines(straight.resolve("metrics.csv"));
    assertEquals("epoch,step,train_loss,train_bits_per_byte,val_loss,val_bits_per_byte,train_accuracy,val_accuracy,"
        + "samples_per_s", rows.get(0));
    assertEquals(4, rows.size());
    String[] last = rows.get(3).split(",");
    assertEquals("3", last[0]);
    assertEquals("9", last[1]);
    double valLoss = Double.parseDouble(last[4]), valBits = Double.parseDouble(last[5]);
    assertEquals(valLoss / Math.log(2), valBits, 1e-5);
    assertTrue(valLoss > 0 && valLoss < Math.log(256) + 0.5, rows.get(3));

    Checkpoint.Loaded saved = Checkpoint.load(straight);
    assertEquals(new GptModel(8, 1, 2, 16, 0f), GptModel.of(saved.graph()));
    assertEquals(3, saved.requireTrainer().settings().stepsPerEpoch());
    assertEquals("adamw", saved.requireTrainer().settings().optimizer().name());

    String stopped = TrainCommandTest.run(train(resumed, "--stop-after", "1"));
    assertTrue(stopped.contains("Stopped after epoch 1 of 3"), stopped);
    assertEquals(2, Files.readAllLines(resumed.resolve("metrics.csv")).size());
    TrainCommandTest.run("train", "--resume", resumed.toString(), "--data", text().toString(), "--device", "cpu");
    assertEquals(rows.stream().map(GptTrainCommandTest::withoutSpeed).toList(),
        Files.readAllLines(resumed.resolve("metrics.csv")).stream().map(GptTrainCommandTest::withoutSpeed).toList(),
        "the same figures but for the speed");
    assertArrayEquals(Files.readAllBytes(straight.resolve("checkpoint/weights.safetensors")),
        Files.readAllBytes(resumed.resolve("checkpoint/weights.safetensors")));
    assertArrayEquals(Files.readAllBytes(straight.resolve("checkpoint/optimizer.safetensors")),
        Files.readAllBytes(resumed.resolve("checkpoint/optimizer.safetensors")));
  }

  private static String withoutSpeed(String row) {
    return row.substring(0, row.lastIndexOf(','));
  }

  @Test
  void gptOptionsAndEvalAreRefusedWhereTheyDoNotApply() throws Exception {
    CliBehaviourTest.Outcome mlp = CliBehaviourTest.run("train", "--model", "mlp", "--context", "32", "--device", "cpu");
    assertEquals(1, mlp.code(), mlp.err());
    assertEquals("nodal train: --context applies to --model gpt only, not mlp", mlp.err().strip());
    CliBehaviourTest.Outcome heads = CliBehaviourTest.run("train", "--model", "gpt", "--width", "30", "--heads", "4",
        "--device", "cpu");
    assertEquals(1, heads.code(), heads.err());
    assertEquals("nodal train: gpt: the width 30 must be a positive multiple of the 4 heads", heads.err().strip());

    Path run = dir.resolve("run");
    TrainCommandTest.run(train(run, "--stop-after", "1"));
    CliBehaviourTest.Outcome resume = CliBehaviourTest.run("train", "--resume", run.toString(), "--data", text().toString(),
        "--device", "cpu", "--context", "16", "--eval-every", "3");
    assertEquals(1, resume.code(), resume.err());
    assertTrue(resume.err().contains("these options differ from the checkpoint's settings: --context 16 (checkpoint: 8)."),
        resume.err());
    CliBehaviourTest.Outcome eval = CliBehaviourTest.run("eval", "--checkpoint", run.toString(), "--device", "cpu");
    assertEquals(1, eval.code(), eval.err());
    assertEquals("nodal eval: --checkpoint " + run + " holds a gpt model; eval measures Fashion-MNIST classifiers (the run's "
        + "metrics.csv has the gpt's validation loss)", eval.err().strip());
  }

  @Test
  void aTextTooShortForTheContextIsOneClearError() throws Exception {
    Path tiny = dir.resolve("tiny.txt");
    Files.writeString(tiny, "far too short");
    CliBehaviourTest.Outcome r = CliBehaviourTest.run("train", "--model", "gpt", "--data", tiny.toString(), "--out",
        dir.resolve("run").toString(), "--device", "cpu");
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains(tiny + ": 13 bytes of text are too short for context 64"), r.err());
    assertTrue(Files.notExists(dir.resolve("run")), "no run folder is left behind");
  }
}
