package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Session;
import dev.nodal.data.FashionMnist;
import dev.nodal.devices.Backends;
import dev.nodal.io.Checkpoint;
import dev.nodal.train.Evaluation;
import java.io.DataOutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training on a real Spark standalone cluster ({@link StandaloneCluster}: a master and three
 * one-core workers on 127.0.0.1, each a JVM, executors launched by the workers), the driver in
 * this JVM with the packaged {@code nodal-spark-…-all.jar} shipped to the executors. Runs after
 * {@code package}, as an integration test of {@code ./mvnw -f spark verify}.
 */
class StandaloneClusterIT {
  @TempDir static Path dir;
  static StandaloneCluster cluster;
  static JavaSparkContext sc;
  /** The ring's ports: ten from a free one, so that the forging test knows where to knock. */
  static int base;
  /** Stage attempts after the first: Spark's retries. */
  static final AtomicInteger retriedStages = new AtomicInteger();

  static final Path SUBSET = Path.of("..", "src", "test", "resources", "fashion-mnist-small").toAbsolutePath().normalize();

  @BeforeAll
  static void startTheCluster() throws Exception {
    cluster = StandaloneCluster.start(dir.resolve("cluster"), 3);
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      base = probe.getLocalPort();
    }
    sc = new JavaSparkContext(cluster.driver("nodal-cluster-test").set(SparkTrainer.RING_PORTS, base + "-" + (base + 9)));
    sc.sc().addSparkListener(new org.apache.spark.scheduler.SparkListener() {
      @Override
      public void onStageSubmitted(org.apache.spark.scheduler.SparkListenerStageSubmitted submitted) {
        if (submitted.stageInfo().attemptNumber() > 0) retriedStages.incrementAndGet();
      }
    });
  }

  @AfterAll
  static void stopTheCluster() {
    if (sc != null) sc.close();
    if (cluster != null) cluster.close();
  }

  /**
   * Without --tasks, the job takes every worker's slot, counted after the executors registered
   * (it took 2 of 3 when it counted at once), trains, and its checkpoint evaluates.
   */
  @Test
  void threeOneCoreWorkersTrainAsThreeTasksAndTheCheckpointEvaluates() throws Exception {
    Path run = dir.resolve("three");
    SparkTrainer.Result r = SparkTrain.run(sc, "--data", SUBSET.toString(), "--out", run.toString(), "--epochs", "2",
        "--batch-size", "60");
    assertEquals(3, r.replicaDigests().size(), "one replica per worker");
    Checkpoint.Loaded saved = Checkpoint.load(run);
    try (Session s = Backends.cpu().compile(saved.graph(), dev.nodal.backend.CompileOptions.maxBatch(200).keep("logits"))) {
      saved.restore(s, false);
      double accuracy = Evaluation.of(s, FashionMnist.load(SUBSET).test()).accuracy();
      assertTrue(accuracy > 0.4, "two epochs on 1,000 images beat chance: " + accuracy);
    }
  }

  /**
   * While the job runs, a program knocks on every port of the ring's range, claiming rank 0 and
   * sending large numbers as the ring's old handshake took them. The executors refuse and log
   * it, and the run's losses and weights are those of an undisturbed run, bit for bit.
   */
  @Test
  void forgedRingConnectionsAreRefusedAndChangeNothing() throws Exception {
    Path clean = dir.resolve("clean"), attacked = dir.resolve("attacked");
    List<String> args = List.of("--data", SUBSET.toString(), "--epochs", "1", "--batch-size", "60", "--tasks", "2");
    List<Float> before = SparkTrain.run(sc, concat(args, "--out", clean.toString())).losses();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicInteger knocks = new AtomicInteger();
    Thread forger = new Thread(() -> {
      while (!stop.get()) {
        for (int port = base; port <= base + 9 && !stop.get(); port++) {
          try (Socket s = new Socket(InetAddress.getLoopbackAddress(), port)) {
            DataOutputStream out = new DataOutputStream(s.getOutputStream());
            out.writeInt(0);
            for (int i = 0; i < 64; i++) out.writeFloat(1_000_000f);
            out.flush();
            knocks.incrementAndGet();
          } catch (java.io.IOException closedOrRefused) {
            // a port with no ring on it, or a ring that hung up: knock on the next
          }
        }
        try {
          Thread.sleep(5);
        } catch (InterruptedException e) {
          return;
        }
      }
    }, "forger");
    forger.start();
    List<Float> during;
    try {
      during = SparkTrain.run(sc, concat(args, "--out", attacked.toString())).losses();
    } finally {
      stop.set(true);
      forger.join();
    }
    assertTrue(knocks.get() > 0, "the forger reached a listening ring");
    assertEquals(before, during, "the same losses, bit for bit");
    assertArrayEquals(Files.readAllBytes(clean.resolve("checkpoint/weights.safetensors")),
        Files.readAllBytes(attacked.resolve("checkpoint/weights.safetensors")), "the same weights");
    String logs = cluster.executorLogs();
    long refusals = logs.lines().filter(l -> l.contains("refused a ring connection from /127.0.0.1:")).count();
    System.out.printf("forged ring connections on a standalone cluster: %d delivered, %d refused and logged by the "
        + "executors, losses and weights bit-identical to the undisturbed run%n", knocks.get(), refusals);
    assertTrue(refusals > 0, "the executors log the refusals");
  }

  /**
   * An executor killed with SIGKILL in the middle of a run: Spark retries the epoch from the last
   * checkpoint's values on the executor the worker starts anew, and the run ends with the bits of
   * an unfaulted run.
   */
  @Test
  void anExecutorKilledMidRunIsRetriedBitForBit() throws Exception {
    Path clean = dir.resolve("unfaulted"), faulted = dir.resolve("faulted");
    List<String> args = List.of("--data", SUBSET.toString(), "--epochs", "4", "--batch-size", "60", "--tasks", "3");
    SparkTrain.run(sc, concat(args, "--out", clean.toString()));
    java.util.concurrent.ExecutorService driver = java.util.concurrent.Executors.newSingleThreadExecutor();
    try {
      java.util.concurrent.Future<SparkTrainer.Result> run = driver.submit(() -> SparkTrain.run(sc,
          concat(args, "--out", faulted.toString())));
      Path first = faulted.resolve("checkpoint").resolve("trainer.json");
      long wait = System.nanoTime() + 120_000_000_000L;
      while (Files.notExists(first) && System.nanoTime() < wait && !run.isDone()) Thread.sleep(50);
      // Then into an epoch's stage, so that the kill fails running tasks.
      while (sc.statusTracker().getActiveStageIds().length == 0 && System.nanoTime() < wait && !run.isDone()) {
        Thread.sleep(10);
      }
      int retriedBefore = retriedStages.get();
      int killed = cluster.killExecutors(2);
      run.get(300, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(retriedStages.get() > retriedBefore, "Spark retried the stage the kill failed");
      System.out.printf("executors killed with SIGKILL after epoch 1 of 4: %d; the run ended with the unfaulted run's "
          + "bits%n", killed);
      assertEquals(1, killed, "worker 2's executor");
    } finally {
      driver.shutdownNow();
    }
    assertArrayEquals(Files.readAllBytes(clean.resolve("checkpoint/weights.safetensors")),
        Files.readAllBytes(faulted.resolve("checkpoint/weights.safetensors")), "the same weights");
    assertArrayEquals(Files.readAllBytes(clean.resolve("checkpoint/optimizer.safetensors")),
        Files.readAllBytes(faulted.resolve("checkpoint/optimizer.safetensors")), "the same optimizer state");
  }

  private static String[] concat(List<String> args, String... more) {
    List<String> all = new java.util.ArrayList<>(args);
    all.addAll(List.of(more));
    return all.toArray(new String[0]);
  }
}
