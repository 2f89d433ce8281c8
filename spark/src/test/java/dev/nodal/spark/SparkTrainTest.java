package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Session;
import dev.nodal.data.FashionMnist;
import dev.nodal.devices.Backends;
import dev.nodal.io.Checkpoint;
import dev.nodal.train.Evaluation;
import java.nio.file.Path;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The spark-submit entry point on {@code local[2]}, on the 1,000-image subset that the core's
 * tests ship: it trains, its checkpoint evaluates on the CPU backend well above chance, and the
 * same files read through Hadoop's file system API give the same run.
 */
class SparkTrainTest {
  @TempDir Path dir;

  @Test
  void trainsOnTheSubsetAndWritesACheckpointThatEvaluates() throws Exception {
    Path subset = StandaloneClusterIT.SUBSET;
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("submit")
        .set("spark.ui.enabled", "false"))) {
      SparkTrain.run(sc, "--data", subset.toString(), "--out", dir.toString(), "--epochs", "3", "--batch-size", "100");
      // The same files through Hadoop's file system API, as from hdfs:// or s3a://: the same run.
      org.junit.jupiter.api.Assertions.assertTrue(subset.toUri().toString().startsWith("file:///"));
      SparkTrainer.Result viaHadoop = SparkTrain.run(sc, "--data", subset.toUri().toString(), "--out",
          dir.resolve("hadoop").toString(), "--epochs", "3", "--batch-size", "100");
      SparkTrainer.Result local = SparkTrain.run(sc, "--data", subset.toString(), "--out", dir.resolve("local").toString(),
          "--epochs", "3", "--batch-size", "100");
      org.junit.jupiter.api.Assertions.assertEquals(local.losses(), viaHadoop.losses());

      // CSV, as Kaggle's Fashion-MNIST: a header, then label and 784 pixels per line.
      Path csv = dir.resolve("train.csv");
      StringBuilder text = new StringBuilder("label");
      for (int j = 1; j <= 784; j++) text.append(",pixel").append(j);
      java.util.Random r = new java.util.Random(3);
      for (int i = 0; i < 50; i++) {
        text.append('\n').append(i % 10);
        for (int j = 0; j < 784; j++) text.append(',').append(r.nextInt(256));
      }
      java.nio.file.Files.writeString(csv, text.append('\n'));
      SparkTrainer.Result fromCsv = SparkTrain.run(sc, "--data", csv.toString(), "--out", dir.resolve("csv").toString(),
          "--epochs", "1", "--batch-size", "10");
      int steps = fromCsv.losses().size();
      assertTrue(steps >= 5 && steps <= 10, "50 rows over 2 tasks, 5 per task and step: 5 steps, more if the "
          + "partitions are uneven; got " + steps);
      assertTrue(fromCsv.losses().stream().allMatch(l -> Float.isFinite(l) && l > 0), fromCsv.losses().toString());
    }
    Checkpoint.Loaded saved = Checkpoint.load(dir);
    try (Session s = Backends.cpu().compile(saved.graph(), dev.nodal.backend.CompileOptions.maxBatch(200).keep("logits"))) {
      saved.restore(s, false);
      double accuracy = Evaluation.of(s, FashionMnist.load(subset).test()).accuracy();
      assertTrue(accuracy > 0.5, "three epochs on 1,000 images beat chance by far: " + accuracy);
      // The run folder, as nodal train leaves one: a metrics row per epoch, the last test figures
      // those of nodal eval on the checkpoint, committed with it.
      java.util.List<String> rows = java.nio.file.Files.readAllLines(dir.resolve("metrics.csv"));
      org.junit.jupiter.api.Assertions.assertEquals(4, rows.size(), rows.toString());
      org.junit.jupiter.api.Assertions.assertEquals(dev.nodal.train.RunFolder.HEADER, rows.get(0));
      String[] last = rows.get(3).split(",");
      org.junit.jupiter.api.Assertions.assertEquals("3", last[0]);
      double trainAccuracy = Double.parseDouble(last[3]), testLoss = Double.parseDouble(last[4]);
      org.junit.jupiter.api.Assertions.assertEquals(accuracy, Double.parseDouble(last[5]), 1e-9,
          "the driver's last evaluation is nodal eval's: " + rows.get(3));
      assertTrue(trainAccuracy > 0.3 && trainAccuracy <= 1 && testLoss > 0, rows.get(3));
      org.junit.jupiter.api.Assertions.assertEquals(accuracy, saved.requireTrainer().testAccuracy(), 1e-9);
      org.junit.jupiter.api.Assertions.assertEquals(3, saved.requireTrainer().metrics().size());
    }
  }

  /** A path stays a path; a URI goes to Hadoop's file systems, never made a local folder named after its scheme. */
  @Test
  void outIsALocalPathOrAUriNeverAMisreadUri() {
    org.junit.jupiter.api.Assertions.assertNull(SparkTrain.runUri("--out", "runs/spark"));
    org.junit.jupiter.api.Assertions.assertNull(SparkTrain.runUri("--out", "exp:lr0.1"));
    org.junit.jupiter.api.Assertions.assertEquals("file:///tmp/run", SparkTrain.runUri("--out", "file:///tmp/run"));
    org.junit.jupiter.api.Assertions.assertEquals("hdfs://namenode:8020/user/me/run",
        SparkTrain.runUri("--resume", "hdfs://namenode:8020/user/me/run"));
    org.junit.jupiter.api.Assertions.assertEquals("--out file:relative/run: give an absolute URI, as file:///data/runs/a "
        + "or hdfs://namenode:8020/user/me/run", org.junit.jupiter.api.Assertions.assertThrows(
        IllegalArgumentException.class, () -> SparkTrain.runUri("--out", "file:relative/run")).getMessage());
  }

  /**
   * A run folder on a Hadoop file system (here file:///, through Hadoop's API): two epochs in one
   * go, and a run of two stopped after one then resumed, end with the same bytes of weights, metrics.csv and
   * curves.png are there with no temporary or checksum files beside them, and a copy that a driver
   * left half sent is passed over on --resume. A local folder resumes the same way.
   */
  @Test
  void runFoldersOnHadoopFileSystemsResumeToTheSameBits() throws Exception {
    Path subset = StandaloneClusterIT.SUBSET;
    String[] common = {"--data", subset.toString(), "--tasks", "2"};
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("resume")
        .set("spark.ui.enabled", "false"))) {
      java.util.function.Function<String[], SparkTrainer.Result> train = more -> {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(common));
        args.addAll(java.util.List.of(more));
        try {
          return SparkTrain.run(sc, args.toArray(String[]::new));
        } catch (java.io.IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      };
      String whole = dir.resolve("whole").toUri().toString(), parts = dir.resolve("parts").toUri().toString();
      train.apply(new String[] {"--out", whole, "--epochs", "2", "--batch-size", "100"});
      train.apply(new String[] {"--out", parts, "--epochs", "2", "--batch-size", "100", "--stop-after", "1"});
      org.junit.jupiter.api.Assertions.assertEquals(1, Checkpoint.load(dir.resolve("parts")).requireTrainer().epochsDone());
      SparkTrainer.Result resumed = train.apply(new String[] {"--resume", parts});
      org.junit.jupiter.api.Assertions.assertEquals(10, resumed.losses().size(), "the second epoch alone: 1000 / 100");
      for (String f : new String[] {"weights.safetensors", "optimizer.safetensors"}) {
        org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(dir.resolve("whole/checkpoint/"
            + f)), java.nio.file.Files.readAllBytes(dir.resolve("parts/checkpoint/" + f)), f);
      }
      for (String run : new String[] {"whole", "parts"}) {
        java.util.List<String> names;
        try (var list = java.nio.file.Files.list(dir.resolve(run))) {
          names = list.map(p -> p.getFileName().toString()).sorted().toList();
        }
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of("checkpoint", "curves.png", "metrics.csv"), names);
        org.junit.jupiter.api.Assertions.assertEquals(3, java.nio.file.Files.readAllLines(dir.resolve(run + "/metrics.csv"))
            .size(), "a header and two epochs");
        org.junit.jupiter.api.Assertions.assertEquals(2, Checkpoint.load(dir.resolve(run)).requireTrainer().epochsDone());
      }
      // A driver stopped while sending epoch 3's checkpoint: checkpoint.new is there, its weights cut short.
      java.nio.file.Path half = java.nio.file.Files.createDirectories(dir.resolve("parts/checkpoint.new"));
      try (var list = java.nio.file.Files.list(dir.resolve("parts/checkpoint"))) {
        for (Path f : list.toList()) java.nio.file.Files.copy(f, half.resolve(f.getFileName()));
      }
      java.nio.file.Files.write(half.resolve("weights.safetensors"), new byte[] {1, 2, 3});
      train.apply(new String[] {"--resume", parts, "--epochs", "3"});
      org.junit.jupiter.api.Assertions.assertEquals(3, Checkpoint.load(dir.resolve("parts")).requireTrainer().epochsDone());
      org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(half), "the half-sent copy is replaced");
      org.junit.jupiter.api.Assertions.assertEquals("the checkpoint in " + parts + " has done 3 of the 3 epochs asked "
          + "for: nothing to train; ask for more epochs to extend the run", org.junit.jupiter.api.Assertions.assertThrows(
              IllegalArgumentException.class, () -> train.apply(new String[] {"--resume", parts})).getMessage());
      // A driver stopped in the middle of the swap: checkpoint.old and a whole checkpoint.new, no checkpoint.
      java.nio.file.Path checkpoint = dir.resolve("parts/checkpoint"), fresh = dir.resolve("parts/checkpoint.new");
      java.nio.file.Files.createDirectories(fresh);
      try (var list = java.nio.file.Files.list(checkpoint)) {
        for (Path f : list.toList()) java.nio.file.Files.copy(f, fresh.resolve(f.getFileName()));
      }
      java.nio.file.Files.move(checkpoint, dir.resolve("parts/checkpoint.old"));
      train.apply(new String[] {"--resume", parts, "--epochs", "4"});
      try (var list = java.nio.file.Files.list(dir.resolve("parts"))) {
        org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of("checkpoint", "curves.png", "metrics.csv"),
            list.map(p -> p.getFileName().toString()).sorted().toList(), "the swap finished, nothing left over");
      }
      org.junit.jupiter.api.Assertions.assertEquals(4, Checkpoint.load(dir.resolve("parts")).requireTrainer().epochsDone());
      org.junit.jupiter.api.Assertions.assertEquals("stop after epoch 4: the checkpoint in " + parts + " has done 4 "
          + "epochs already; give a later epoch", org.junit.jupiter.api.Assertions.assertThrows(
              IllegalArgumentException.class, () -> train.apply(new String[] {"--resume", parts, "--epochs", "6",
                  "--stop-after", "4"})).getMessage());
      // A local folder: the same bits as the Hadoop one.
      String local = dir.resolve("local").toString();
      train.apply(new String[] {"--out", local, "--epochs", "2", "--batch-size", "100", "--stop-after", "1"});
      train.apply(new String[] {"--resume", local});
      org.junit.jupiter.api.Assertions.assertArrayEquals(java.nio.file.Files.readAllBytes(dir.resolve(
          "whole/checkpoint/weights.safetensors")), java.nio.file.Files.readAllBytes(dir.resolve(
          "local/checkpoint/weights.safetensors")));
      org.junit.jupiter.api.Assertions.assertTrue(java.nio.file.Files.isRegularFile(dir.resolve("local/curves.png")));

      String empty = dir.resolve("empty").toUri().toString();
      org.junit.jupiter.api.Assertions.assertEquals(empty + ": no checkpoint there to resume",
          org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
              () -> SparkTrain.run(sc, "--resume", empty)).getMessage());
      org.junit.jupiter.api.Assertions.assertEquals("--resume " + parts + ": the checkpoint fixes --lr; leave it out "
          + "(--epochs extends the run)", org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
              () -> SparkTrain.run(sc, "--resume", parts, "--lr", "0.1")).getMessage());
      org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
          () -> SparkTrain.run(sc, "--resume", parts, "--out", whole));
    }
  }
}
