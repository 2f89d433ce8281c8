package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Session;
import dev.nodal.data.FashionMnist;
import dev.nodal.devices.Backends;
import dev.nodal.io.Checkpoint;
import dev.nodal.train.Evaluation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A driver killed with SIGKILL after its first epoch, on a standalone cluster of two workers,
 * its run folder on a {@code file://} URI (through Hadoop's file system API): {@code --resume}
 * from a second {@code spark/submit} finishes the run with the same weights, bit for bit, as an
 * unstopped run, and {@code nodal eval}'s figures on the checkpoint are the driver's last ones.
 */
class KilledDriverIT {
  @TempDir Path dir;

  /** spark/submit against the cluster, with the driver settings of {@link StandaloneCluster#driver}. */
  private static Process submit(StandaloneCluster cluster, Path log, String... args) throws Exception {
    SparkConf conf = cluster.driver("killed-driver");
    List<String> command = new ArrayList<>(List.of("bash", Path.of("submit").toAbsolutePath().toString(), "--master",
        conf.get("spark.master"), "--class", SparkTrain.class.getName()));
    for (scala.Tuple2<String, String> kv : conf.getAll()) {
      if (!kv._1().equals("spark.master") && !kv._1().equals("spark.app.name")) {
        command.addAll(List.of("--conf", kv._1() + "=" + kv._2()));
      }
    }
    command.add(conf.get("spark.jars"));
    command.addAll(List.of(args));
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
  }

  @Test
  void aKilledDriversRunResumesToTheUnstoppedBits() throws Exception {
    String run = dir.resolve("run").toUri().toString();
    String[] training = {"--data", StandaloneClusterIT.SUBSET.toString(), "--epochs", "3", "--batch-size", "100",
        "--tasks", "2"};
    try (StandaloneCluster cluster = StandaloneCluster.start(dir.resolve("cluster"), 2)) {
      List<String> first = new ArrayList<>(List.of(training));
      first.addAll(List.of("--out", run));
      Process driver = submit(cluster, dir.resolve("first.log"), first.toArray(String[]::new));
      Path trainer = dir.resolve("run/checkpoint/trainer.json");
      long wait = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
      while (Files.notExists(trainer) && driver.isAlive() && System.nanoTime() < wait) Thread.sleep(50);
      assertTrue(Files.exists(trainer), "a first checkpoint within 150 s:\n" + Files.readString(dir.resolve("first.log")));
      driver.descendants().forEach(ProcessHandle::destroyForcibly);
      driver.destroyForcibly().waitFor();
      int done = Checkpoint.load(dir.resolve("run")).requireTrainer().epochsDone();
      assertTrue(done >= 1 && done < 3, "killed after epoch " + done + " of 3");

      Process resumed = submit(cluster, dir.resolve("resumed.log"), "--resume", run, "--data",
          StandaloneClusterIT.SUBSET.toString(), "--tasks", "2");
      assertTrue(resumed.waitFor(240, TimeUnit.SECONDS), "the resumed run ends");
      String log = Files.readString(dir.resolve("resumed.log"));
      assertEquals(0, resumed.exitValue(), log);
      System.out.printf("a driver killed after epoch %d of 3; --resume from a second driver ended the run%n", done);
    }
    // The same run unstopped, in local mode in this JVM: the same bits.
    Path unstopped = dir.resolve("unstopped");
    try (JavaSparkContext local = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("unstopped")
        .set("spark.ui.enabled", "false"))) {
      List<String> args = new ArrayList<>(List.of(training));
      args.addAll(List.of("--out", unstopped.toString()));
      SparkTrain.run(local, args.toArray(String[]::new));
    }
    String figures = "resumed:\n" + Files.readString(dir.resolve("run/metrics.csv")) + "unstopped:\n"
        + Files.readString(unstopped.resolve("metrics.csv"));
    System.out.print(figures);
    for (String f : new String[] {"weights.safetensors", "optimizer.safetensors"}) {
      assertArrayEquals(Files.readAllBytes(unstopped.resolve("checkpoint").resolve(f)),
          Files.readAllBytes(dir.resolve("run/checkpoint").resolve(f)), f + "\n" + figures);
    }
    Checkpoint.Loaded saved = Checkpoint.load(dir.resolve("run"));
    assertEquals(3, saved.requireTrainer().epochsDone());
    List<String> rows = Files.readAllLines(dir.resolve("run/metrics.csv"));
    assertEquals(4, rows.size(), rows.toString());
    try (Session s = Backends.cpu().compile(saved.graph(), dev.nodal.backend.CompileOptions.maxBatch(200).keep("logits"))) {
      saved.restore(s, false);
      double accuracy = Evaluation.of(s, FashionMnist.load(StandaloneClusterIT.SUBSET).test()).accuracy();
      assertEquals(accuracy, Double.parseDouble(rows.get(3).split(",")[5]), 1e-9, "nodal eval's figure is the driver's");
    }
  }
}
