package dev.nodal.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.data.TextCorpus;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.EpochMetrics;
import dev.nodal.io.TrainerSettings;
import dev.nodal.optim.Adam;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A {@link Trainer} on a {@link LanguageModelling} task with a tiny {@link GptModel}. */
class LanguageModellingTest {
  @TempDir Path dir;

  static final GptModel TINY = new GptModel(8, 1, 2, 16, 0.1f);

  static TextCorpus text() throws Exception {
    byte[] b = "a stitch in time saves nine; ".repeat(40).getBytes(StandardCharsets.US_ASCII);
    return TextCorpus.of("stitch", b, TINY.context());
  }

  @Test
  void theModelReadsBackFromItsGraph() {
    Graph g = TINY.build(3);
    assertEquals(TINY, GptModel.of(g));
    assertEquals("gpt (context 8, 1 layers, 2 heads, width 16, dropout 0.1)", ModelZoo.describe(GptModel.NAME, g));
    assertThrows(IllegalArgumentException.class, () -> GptModel.of(ModelZoo.mlp(1, 4, 2, 3)));
    assertThrows(IllegalArgumentException.class, () -> new GptModel(8, 1, 3, 16, 0f), "heads must divide the width");
  }

  @Test
  void aRunEvaluatesEveryStepsPerEpochAndItsCheckpointKeepsThem() throws Exception {
    TrainerSettings settings = TrainerSettings.builder().model(GptModel.NAME).epochs(2).batchSize(4).seed(3)
        .stepsPerEpoch(5).optimizer(Adam.adamW().learningRate(0.01f).clipNorm(1f).spec()).build();
    LanguageModelling task = new LanguageModelling(text(), TINY.context());
    Graph graph = TINY.build(3);
    EpochMetrics last;
    try (Backend cpu = Backends.open("cpu");
        RunFolder run = new RunFolder(dir, 0, task.columns())) {
      last = new Trainer(graph, settings, cpu, run).train(task, null, 2);
      assertEquals(2, run.rows().size());
    }
    assertEquals(10, last.step());
    assertTrue(last.testLoss() < Math.log(256), "the held-out loss fell below uniform: " + last.testLoss());
    assertTrue(last.testAccuracy() > 0 && last.testAccuracy() <= 1);
    assertTrue(Files.readString(dir.resolve("checkpoint/trainer.json")).contains("\"stepsPerEpoch\" : 5"));
    Checkpoint.Loaded loaded = Checkpoint.load(dir);
    assertEquals(settings, loaded.requireTrainer().settings());
    assertEquals(List.of("epoch,step,train_loss,train_bits_per_byte,val_loss,val_bits_per_byte,train_accuracy,"
        + "val_accuracy,samples_per_s"), Files.readAllLines(dir.resolve("metrics.csv")).subList(0, 1));
    try (RunFolder again = new RunFolder(dir, 2, RunFolder.Columns.LANGUAGE_MODEL)) {
      assertEquals(2, again.rows().size(), "metrics.csv reads back");
      assertEquals(last.testLoss(), again.rows().get(1).testLoss(), 1e-6);
    }
  }

  @Test
  void aClassifiersCheckpointHasNoStepsPerEpoch() throws Exception {
    TrainerSettings settings = TrainerSettings.builder().epochs(1).batchSize(8).build();
    dev.nodal.data.Dataset data = new dev.nodal.data.Dataset("d", new float[16 * 4], new float[16], 16, 4, 3);
    try (Backend cpu = Backends.open("cpu"); RunFolder run = new RunFolder(dir, 0)) {
      new Trainer(ModelZoo.mlp(1, 4, 3, 5), settings, cpu, run).train(data, data, null, 1);
    }
    assertFalse(Files.readString(dir.resolve("checkpoint/trainer.json")).contains("stepsPerEpoch"));
    TrainerSettings other = TrainerSettings.builder().epochs(1).batchSize(8).stepsPerEpoch(2).build();
    assertThrows(IllegalArgumentException.class, () -> new ImageClassification(data, data).training(other));
  }

  @Test
  void aSampleContinuesTheHeldOutText() throws Exception {
    LanguageModelling task = new LanguageModelling(text(), TINY.context());
    try (Backend cpu = Backends.open("cpu");
        Session s = cpu.compile(TINY.build(1), CompileOptions.maxBatch(4).keep("logits"))) {
      String a = task.sample(s, 20, 0.8, 9);
      assertEquals(a, task.sample(s, 20, 0.8, 9), "seeded");
      assertTrue(a.getBytes(StandardCharsets.UTF_8).length >= 20, a);
    }
  }
}
