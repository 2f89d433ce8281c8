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
    Path subset = Path.of("..", "src", "test", "resources", "fashion-mnist-small").toAbsolutePath().normalize();
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

  /** --out takes a path or a file: URI; another file system's URI is refused, never made a local folder named after it. */
  @Test
  void outIsALocalFolderOrAFileUriNeverAMisreadUri() {
    org.junit.jupiter.api.Assertions.assertEquals(Path.of("runs", "spark"), SparkTrain.outFolder("runs/spark"));
    org.junit.jupiter.api.Assertions.assertEquals(Path.of("/tmp/run"), SparkTrain.outFolder("file:///tmp/run"));
    org.junit.jupiter.api.Assertions.assertEquals(Path.of("exp:lr0.1"), SparkTrain.outFolder("exp:lr0.1"));
    org.junit.jupiter.api.Assertions.assertTrue(org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> SparkTrain.outFolder("file:relative/run")).getMessage().startsWith("--out file:relative/run: give an "
        + "absolute file: URI"));
    IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
        () -> SparkTrain.outFolder("hdfs://namenode:8020/user/me/run"));
    org.junit.jupiter.api.Assertions.assertEquals("--out hdfs://namenode:8020/user/me/run: the run folder must be on the "
        + "driver's file system (a path or a file: URI); checkpoints on hdfs: are not written yet", e.getMessage());
  }
}
