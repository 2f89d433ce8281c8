package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.TrainerSettings;
import dev.nodal.optim.Sgd;
import dev.nodal.train.ModelZoo;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Training as a Spark job against one worker fed the same global batches: the same loss at every
 * step (to 1e-5) and the same weights (to 1e-4), on {@code local[2]} with uneven partitions; a
 * failure in a task's first attempt under {@code local[2,4]} is retried and changes nothing; the
 * checkpoint reads back; and jobs that cannot run fail at once, saying why.
 */
class SparkTrainerTest {
  @TempDir Path dir;

  private static final int FEATURES = 784;

  private static List<Example> examples(int n) {
    SplittableRandom r = new SplittableRandom(17);
    List<Example> out = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      float[] x = new float[FEATURES];
      int label = r.nextInt(10);
      for (int j = 0; j < FEATURES; j++) x[j] = (float) r.nextDouble() * (j % 10 == label ? 1f : 0.3f);
      out.add(new Example(x, label));
    }
    return out;
  }

  private static Graph graph() {
    return ModelZoo.mlp(5, FEATURES, 10, 32);
  }

  private static TrainerSettings settings() {
    return TrainerSettings.builder().epochs(2).batchSize(32).seed(9).optimizer(Sgd.builder().learningRate(0.05f)
        .momentum(0.9f).spec()).build();
  }

  private static JavaSparkContext spark(String master) {
    return new JavaSparkContext(new SparkConf().setMaster(master).setAppName("nodal-test").set("spark.ui.enabled", "false"));
  }

  /** One CPU session fed, at every step, the concatenation in rank order of what each task takes. */
  private static float[] reference(List<List<Example>> partitions, TrainerSettings settings, Graph graph, Session s) {
    int tasks = partitions.size(), perTask = (settings.batchSize() + tasks - 1) / tasks;
    int steps = 0;
    for (List<Example> p : partitions) steps = Math.max(steps, (p.size() + perTask - 1) / perTask);
    s.setOptimizer(settings.optimizer().make().schedule(settings.schedule(), (long) steps * settings.epochs()));
    float[] losses = new float[steps * settings.epochs()];
    int t = 0;
    for (int epoch = 1; epoch <= settings.epochs(); epoch++) {
      List<List<Example>> ordered = new ArrayList<>();
      for (int r = 0; r < tasks; r++) ordered.add(SparkTrainer.order(partitions.get(r), settings.seed(), epoch, r));
      for (int step = 0; step < steps; step++, t++) {
        List<Example> batch = new ArrayList<>();
        for (List<Example> o : ordered) batch.addAll(o.subList(Math.min(o.size(), step * perTask),
            Math.min(o.size(), (step + 1) * perTask)));
        float[] xs = new float[batch.size() * FEATURES], ys = new float[batch.size()];
        for (int i = 0; i < batch.size(); i++) {
          System.arraycopy(batch.get(i).features(), 0, xs, i * FEATURES, FEATURES);
          ys[i] = batch.get(i).label();
        }
        s.setInput((Input) graph.node("x"), xs);
        s.setInput((Input) graph.node("y"), ys);
        losses[t] = s.trainStep();
      }
    }
    return losses;
  }

  private void assertMatchesOneWorker(JavaRDD<Example> data, SparkTrainer.Result result) throws Exception {
    Graph graph = graph();
    try (Session s = Backends.cpu().compile(graph, 64)) {
      float[] expected = reference(data.glom().collect(), settings(), graph, s);
      assertEquals(expected.length, result.losses().size(), "steps");
      for (int i = 0; i < expected.length; i++) assertEquals(expected[i], result.losses().get(i), 1e-5, "loss of step " + (i + 1));
      Checkpoint.Loaded saved = Checkpoint.load(result.checkpoint());
      for (Param p : graph.params()) {
        float[] a = s.value(p), b = saved.weights().get(p.name()).data();
        for (int i = 0; i < a.length; i++) assertEquals(a[i], b[i], 1e-4, p.name() + "[" + i + "]");
      }
      assertEquals(s.optimizer().step(), Long.parseLong(saved.optimizerMetadata().get("step")), "the checkpoint's step count");
    }
  }

  @Test
  void twoTasksTrainAsOneWorkerWithTheSameGlobalBatchesAndWriteACheckpoint() throws Exception {
    try (JavaSparkContext sc = spark("local[2]")) {
      JavaRDD<Example> data = sc.parallelize(examples(133), 2); // 66 and 67 rows: an uneven last step
      SparkTrainer.Result result = SparkTrainer.train(data, graph(), settings(), dir.resolve("run"));
      assertMatchesOneWorker(data, result);
      assertEquals(2, result.replicaDigests().size());
      assertEquals(result.replicaDigests().get(0), result.replicaDigests().get(1), "the two replicas, by digest");
      assertEquals(2, saved(dir.resolve("run")).trainer().epochsDone(), "--resume continues after epoch 2");
      Checkpoint.Loaded saved = Checkpoint.load(dir.resolve("run"));
      assertEquals(settings(), saved.trainer().settings(), "trainer.json resumes with the same settings");
    }
  }

  private static Checkpoint.Loaded saved(Path run) throws Exception {
    return Checkpoint.load(run);
  }

  @Test
  void aFailedFirstAttemptIsRetriedAndChangesNothing() throws Exception {
    List<Float> clean, retried;
    try (JavaSparkContext sc = spark("local[2,4]")) {
      JavaRDD<Example> data = sc.parallelize(examples(90), 2);
      clean = SparkTrainer.train(data, graph(), settings(), dir.resolve("clean")).losses();
      SparkTrainer.Result r = SparkTrainer.train(data, graph(), settings(), dir.resolve("retried"), new SparkTrainer.Fault(1, 2));
      retried = r.losses();
      assertMatchesOneWorker(data, r);
    }
    assertEquals(clean, retried, "the retried epoch gives the same losses, bit for bit");
  }

  @Test
  void whenRetriesAreUsedUpTheErrorNamesTheLastCheckpoint() throws Exception {
    try (JavaSparkContext sc = spark("local[2,4]")) {
      JavaRDD<Example> data = sc.parallelize(examples(40), 2);
      Path run = dir.resolve("doomed");
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> SparkTrainer.train(data, graph(), settings(), run, new SparkTrainer.Fault(0, 2, true)));
      assertTrue(e.getMessage().contains("epoch 2 failed after Spark's retries")
          && e.getMessage().contains("the last checkpoint is " + run.resolve("checkpoint") + " (epoch 1)"), e.getMessage());
      assertEquals(1, Checkpoint.load(run).trainer().epochsDone(), "epoch 1's checkpoint is whole");
    }
  }

  /**
   * With spark.authenticate on, the ring's key comes from Spark's secret and a port range, a
   * timeout and TLS from the configuration: training is the same as without them, bit for bit.
   */
  @Test
  void underSparkAuthenticationTheRingTakesItsKeyFromSparksSecret() throws Exception {
    List<Float> plain;
    try (JavaSparkContext sc = spark("local[2]")) {
      plain = SparkTrainer.train(sc.parallelize(examples(70), 2), graph(), settings(), dir.resolve("plain")).losses();
    }
    int base;
    try (java.net.ServerSocket probe = new java.net.ServerSocket(0)) {
      base = probe.getLocalPort();
    }
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("auth")
        .set("spark.ui.enabled", "false").set("spark.authenticate", "true")
        .set("spark.authenticate.secret", "a secret of this cluster's").set(SparkTrainer.RING_PORTS, base + "-" + (base + 50))
        .set(SparkTrainer.RING_TIMEOUT, "2m").set(SparkTrainer.RING_TLS, "true"))) {
      SparkTrainer.RingSettings ring = SparkTrainer.RingSettings.of(sc.getConf());
      assertTrue(ring.fromSparkSecret() && ring.fromPort() == base && ring.toPort() == base + 50, ring.toString());
      assertEquals(java.time.Duration.ofMinutes(2), ring.timeout());
      assertEquals(32, ring.key().length);
      assertTrue(!java.util.Arrays.equals(ring.salt(), ring.key()), "the task carries the salt, not the key");
      assertTrue(!java.util.Arrays.equals(ring.key(3, 0), ring.key(3, 1)), "each stage attempt has a ring key of its own");
      assertEquals("RingSettings[timeout 120 s, silence 10 s, ports " + base + "-" + (base + 50) + ", key from Spark's "
          + "secret, TLS]", ring.toString());
      assertTrue(SparkTrainer.RingSettings.of(new SparkConf().set("spark.network.crypto.enabled", "true")).tls(),
          "TLS follows Spark's own encryption by default");
      assertTrue(!SparkTrainer.RingSettings.of(new SparkConf()).tls(), "and is off when Spark's is");
      List<Float> authenticated = SparkTrainer.train(sc.parallelize(examples(70), 2), graph(), settings(),
          dir.resolve("auth")).losses();
      assertEquals(plain, authenticated);
    }
  }

  /** Slots honour spark.task.cpus: local[4] with 2 cores per task runs 2 tasks at once, and 3 are refused. */
  @Test
  void slotsAreCoresOverTaskCpus() {
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[4]").setAppName("cpus")
        .set("spark.ui.enabled", "false").set("spark.task.cpus", "2"))) {
      assertEquals(2, Slots.await(sc.sc(), 0));
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> SparkTrainer.train(sc.parallelize(examples(12), 3), graph(), settings(), dir.resolve("cpus")));
      assertTrue(e.getMessage().contains("3 partitions") && e.getMessage().contains("offers 2 slots (each executor's "
          + "cores over spark.task.cpus = 2"), e.getMessage());
    }
  }

  @Test
  void badRingSettingsAreRefusedNamingThem() {
    for (String[] bad : new String[][] {{SparkTrainer.RING_PORTS, "40100-40000"}, {SparkTrainer.RING_PORTS, "40000"},
        {SparkTrainer.RING_PORTS, "a-b"}, {SparkTrainer.RING_TIMEOUT, "0"}, {SparkTrainer.RING_TIMEOUT, "soon"},
        {SparkTrainer.RING_TIMEOUT, "30d"}, {SparkTrainer.RING_SILENCE, "0"}, {SparkTrainer.RING_SILENCE, "2m"},
        {SparkTrainer.RING_TLS, "yes"}}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> SparkTrainer.RingSettings.of(new SparkConf().set(bad[0], bad[1])));
      assertTrue(e.getMessage().startsWith(bad[0] + "=" + bad[1] + ": give"), e.getMessage());
    }
  }

  @Test
  void aDatasetOfRowsTrains() throws Exception {
    try (JavaSparkContext sc = spark("local[2]")) {
      org.apache.spark.sql.SparkSession spark = org.apache.spark.sql.SparkSession.builder().sparkContext(sc.sc())
          .getOrCreate();
      List<Example> examples = examples(70);
      List<org.apache.spark.sql.Row> rows = new ArrayList<>();
      for (Example e : examples) {
        List<Float> x = new ArrayList<>();
        for (float v : e.features()) x.add(v);
        rows.add(org.apache.spark.sql.RowFactory.create(x, (double) e.label()));
      }
      var schema = new org.apache.spark.sql.types.StructType()
          .add("pixels", org.apache.spark.sql.types.DataTypes.createArrayType(org.apache.spark.sql.types.DataTypes.FloatType))
          .add("class", org.apache.spark.sql.types.DataTypes.DoubleType);
      var frame = spark.createDataFrame(rows, schema).repartition(2);
      SparkTrainer.Result fromRows = SparkTrainer.train(frame, "pixels", "class", graph(), settings(), dir.resolve("rows"));
      int largest = frame.javaRDD().glom().collect().stream().mapToInt(List::size).max().orElseThrow();
      assertEquals(2 * ((largest + 15) / 16), fromRows.losses().size(), "two epochs of 16 rows per task and step");
      List<Float> l = fromRows.losses();
      assertTrue(l.get(l.size() - 1) < l.get(0), "the loss went down: " + l);
      assertEquals(fromRows.replicaDigests().get(0), fromRows.replicaDigests().get(1));
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
          () -> SparkTrainer.train(frame, "features", "class", graph(), settings(), dir.resolve("x")));
      assertTrue(e.getMessage().contains("no column 'features'"), e.getMessage());
    }
  }

  @Test
  void jobsThatCannotRunFailAtOnceSayingWhy() {
    try (JavaSparkContext sc = spark("local[2]")) {
      IllegalArgumentException empty = assertThrows(IllegalArgumentException.class,
          () -> SparkTrainer.train(sc.parallelize(new ArrayList<Example>(), 2), graph(), settings(), dir.resolve("e")));
      assertTrue(empty.getMessage().contains("no examples"), empty.getMessage());
      JavaRDD<Example> three = sc.parallelize(examples(12), 3);
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> SparkTrainer.train(three, graph(), settings(), dir.resolve("x")));
      assertTrue(e.getMessage().contains("3 partitions") && e.getMessage().contains("2 slots"), e.getMessage());
    }
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("dyn")
        .set("spark.ui.enabled", "false").set("spark.dynamicAllocation.enabled", "true"))) {
      IllegalStateException e = assertThrows(IllegalStateException.class,
          () -> SparkTrainer.train(sc.parallelize(examples(4), 2), graph(), settings(), dir.resolve("y")));
      assertTrue(e.getMessage().contains("dynamicAllocation"), e.getMessage());
    }
  }
}
