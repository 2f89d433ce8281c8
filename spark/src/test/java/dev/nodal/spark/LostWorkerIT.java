package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A worker lost for good in the middle of a job on a standalone cluster of two: the job ends
 * within {@code spark.nodal.slots.timeout}, naming the missing slot and the last checkpoint.
 * (Before, Spark's retry of the barrier stage waited for a second slot forever.)
 */
class LostWorkerIT {
  @TempDir Path dir;

  @Test
  void aLostWorkerEndsTheJobWithinTheDeadlineNamingTheLastCheckpoint() throws Exception {
    try (StandaloneCluster cluster = StandaloneCluster.start(dir.resolve("cluster"), 2)) {
      ExecutorService driver = Executors.newSingleThreadExecutor();
      try (JavaSparkContext sc = new JavaSparkContext(cluster.driver("lost-worker").set(Slots.LOST, "10s"))) {
        Path run = dir.resolve("run");
        Future<SparkTrainer.Result> training = driver.submit(() -> SparkTrain.run(sc, "--data",
            StandaloneClusterIT.SUBSET.toString(), "--out", run.toString(), "--epochs", "200", "--batch-size", "60",
            "--tasks", "2"));
        Path firstEpoch = run.resolve("checkpoint").resolve("trainer.json");
        long wait = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (Files.notExists(firstEpoch) && System.nanoTime() < wait && !training.isDone()) Thread.sleep(100);
        assertTrue(Files.exists(firstEpoch), "a first epoch's checkpoint within two minutes");
        cluster.killWorker(2);
        long killed = System.nanoTime();
        java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
            () -> training.get(120, TimeUnit.SECONDS), "the job ends instead of waiting for the slot");
        long seconds = TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - killed);
        String message = e.getCause().getMessage();
        System.out.printf("a worker killed mid-job: the job ended %d s later: %s%n", seconds, message);
        assertTrue(message.contains("the cluster has offered 1 of the 2 slots the job needs for 10 s")
            && message.contains("the last checkpoint is " + run.resolve("checkpoint")), message);
        assertTrue(seconds < 60, seconds + " s");
      } finally {
        driver.shutdownNow();
      }
    }
  }
}
