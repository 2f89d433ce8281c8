package dev.nodal.spark;

import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.parallel.Collective;
import dev.nodal.parallel.RingCollective;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.EpochMetrics;
import dev.nodal.io.GraphFile;
import dev.nodal.io.TrainerSettings;
import dev.nodal.io.TrainerState;
import dev.nodal.optim.OptimizerSpec;
import dev.nodal.optim.Schedule;
import dev.nodal.train.RunFolder;
import java.io.IOException;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.apache.spark.BarrierTaskContext;
import org.apache.spark.SparkContext;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.rdd.RDD;
import scala.jdk.javaapi.CollectionConverters;
import scala.reflect.ClassTag$;
import scala.runtime.AbstractFunction1;

/**
 * Synchronous data-parallel training as a Spark job: one barrier stage per epoch, one task per
 * partition of the data, each task a worker with a CPU session. The tasks meet once per epoch
 * through {@code allGather} (to swap {@code host:port}) and then sum gradients over a
 * {@link RingCollective}, so every worker applies the same update to the same weights.
 *
 * <p>Each step, task r takes its next {@code perTask = ceil(batchSize / tasks)} examples of its
 * own partition (shuffled per epoch); the step's global batch is all the tasks' examples, in rank
 * order (so up to {@code perTask × tasks} rows, a little more than the settings' batch size when
 * the tasks do not divide it), and the update is that of one device on that batch: each task's
 * gradient and loss are weighted by its rows, summed, and divided by the batch's rows. A task
 * whose partition has run out adds zeros. An epoch has as many steps as the largest partition
 * needs, so {@code nodal train --resume} on one device, which counts its own steps, continues with
 * a learning-rate schedule counted its way.
 *
 * <p>The slot check compares the partitions with the tasks the cluster can run at once
 * ({@link Slots}: each executor's cores over {@code spark.task.cpus}, counted once the
 * executors have registered, waiting up to {@code spark.nodal.executors.wait}).
 *
 * <p>After each epoch the driver checks that every task's replica has the same digest, takes rank
 * 0's weights, states and optimizer state and writes the usual checkpoint (which {@code nodal eval} reads and {@code nodal train --resume} continues).
 * Each epoch starts from the last checkpoint's values, so Spark's retry of a failed stage (the
 * barrier stage is followed by a shuffle so that Spark retries it) repeats the epoch from there.
 */
public final class SparkTrainer {
  private SparkTrainer() {}

  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(SparkTrainer.class);

  /** {@code spark.nodal.ring.timeout}: how long a task waits on its ring neighbours, in seconds. */
  public static final String RING_TIMEOUT = "spark.nodal.ring.timeout";
  /** The default of {@link #RING_TIMEOUT}: a step's exchange, or the ring's forming, longer than this fails the stage. */
  static final Duration DEFAULT_RING_TIMEOUT = Duration.ofSeconds(60);
  /**
   * {@code spark.nodal.ring.silence}: how long a ring neighbour may send neither data nor
   * heartbeats before the task fails (default 10s, at most the timeout): a paused executor or a
   * lost host is noticed this soon, while a neighbour still computing is waited for up to the
   * timeout.
   */
  public static final String RING_SILENCE = "spark.nodal.ring.silence";
  /**
   * {@code spark.nodal.ring.tls}: whether the ring's connections are TLS 1.3 (default: as
   * {@code spark.network.crypto.enabled}, Spark's own encryption of its traffic).
   */
  public static final String RING_TLS = "spark.nodal.ring.tls";
  /** {@code spark.nodal.ring.ports}: {@code FROM-TO}, the ports the ring may listen on (default: any free port). */
  public static final String RING_PORTS = "spark.nodal.ring.ports";

  /**
   * How the tasks' ring is set up, made on the driver and sent with each task: its timeout, its
   * ports, and where its key comes from. With {@code spark.authenticate} on, the key is an
   * HMAC-SHA256 of Spark's own secret over a random salt, derived on each executor from the
   * secret Spark gave it (the task carries only the salt); else the task carries a random key of
   * the job's, as safe as the channel Spark sends tasks over.
   */
  record RingSettings(Duration timeout, Duration silence, int fromPort, int toPort, boolean fromSparkSecret, boolean tls,
      byte[] salt) implements Serializable {
    static RingSettings of(org.apache.spark.SparkConf conf) {
      long seconds = seconds(conf, RING_TIMEOUT, DEFAULT_RING_TIMEOUT.toSeconds());
      long silence = seconds(conf, RING_SILENCE, RingCollective.defaultSilence(Duration.ofSeconds(seconds)).toSeconds());
      if (silence > seconds) {
        throw new IllegalArgumentException(RING_SILENCE + "=" + conf.get(RING_SILENCE) + ": give at most " + RING_TIMEOUT
            + " (" + seconds + "s)");
      }
      int from = 0, to = 0;
      String ports = conf.get(RING_PORTS, "").strip();
      if (!ports.isEmpty()) {
        String[] p = ports.split("-", -1);
        try {
          from = Integer.parseInt(p[0].strip());
          to = p.length == 2 ? Integer.parseInt(p[1].strip()) : -1;
        } catch (NumberFormatException e) {
          to = -1;
        }
        if (p.length != 2 || from < 1 || to > 65535 || from > to) {
          throw new IllegalArgumentException(RING_PORTS + "=" + ports + ": give FROM-TO within 1-65535, as 40000-40100");
        }
      }
      boolean tls;
      String tlsSetting = conf.get(RING_TLS, Boolean.toString(conf.getBoolean("spark.network.crypto.enabled", false)))
          .strip();
      if (tlsSetting.equalsIgnoreCase("true") || tlsSetting.equalsIgnoreCase("false")) {
        tls = Boolean.parseBoolean(tlsSetting);
      } else {
        throw new IllegalArgumentException(RING_TLS + "=" + tlsSetting + ": give true or false");
      }
      return new RingSettings(Duration.ofSeconds(seconds), Duration.ofSeconds(silence), from, to,
          conf.getBoolean("spark.authenticate", false), tls, RingCollective.newKey());
    }

    /** A time setting from 1s to 1d, in seconds. */
    private static long seconds(org.apache.spark.SparkConf conf, String key, long byDefault) {
      return TimeSetting.seconds(conf, key, byDefault, 1, Duration.ofDays(1).toSeconds(), "a time from 1s to 1d");
    }

    /** The job's key on this executor: the salt itself, or Spark's secret's HMAC over it. */
    byte[] key() {
      if (!fromSparkSecret) return salt;
      String secret;
      try {
        // Spark's SecurityManager is internal API (public in its bytecode): the secret it gave this executor.
        secret = org.apache.spark.SparkEnv.get().securityManager().getSecretKey();
      } catch (RuntimeException e) {
        secret = null;
      }
      if (secret == null || secret.isEmpty()) {
        throw new IllegalStateException("spark.authenticate is on but this executor has no Spark secret to derive "
            + "the ring's key from");
      }
      return RingCollective.hmac(secret.getBytes(java.nio.charset.StandardCharsets.UTF_8), salt);
    }

    /**
     * The key of one stage attempt's ring: a task left over from an earlier attempt, still
     * connecting, is refused by the next attempt's ranks even on the same ports.
     */
    byte[] key(int stage, int attempt) {
      return RingCollective.hmac(key(), ("stage " + stage + " attempt " + attempt)
          .getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Without the salt, which is the key itself when Spark's authentication is off. */
    @Override
    public String toString() {
      return "RingSettings[timeout " + timeout.toSeconds() + " s, silence " + silence.toSeconds() + " s, ports " + (fromPort == 0 ? "any" : fromPort + "-" + toPort)
          + ", key " + (fromSparkSecret ? "from Spark's secret" : "sent with the task") + (tls ? ", TLS" : ", no TLS") + "]";
    }

    /**
     * Listens on {@code host}'s address when it is one of this machine's interfaces, else (a
     * host name that resolves elsewhere, as Debian's 127.0.1.1 for the machine's own name) on
     * every interface, with a warning.
     */
    ServerSocket listen(String host) throws IOException {
      java.net.InetAddress address = java.net.InetAddress.getByName(host);
      if (java.net.NetworkInterface.getByInetAddress(address) == null) {
        org.slf4j.LoggerFactory.getLogger(SparkTrainer.class).warn("the ring listens on every interface: this executor's "
            + "address {} resolves to {}, which is none of this machine's interfaces", host, address.getHostAddress());
        address = null;
      }
      return fromPort == 0 ? RingCollective.listen(address) : RingCollective.listen(address, fromPort, toPort);
    }
  }

  /** What the driver hands each epoch's tasks, and what rank 0 hands back. */
  static final class Snapshot implements Serializable {
    private static final long serialVersionUID = 1L;
    final HashMap<String, float[]> values = new HashMap<>();
    final HashMap<String, float[][]> optimizerState = new HashMap<>();
    long step;
    float[] losses = new float[0];
    /** Over the epoch's global batches: the loss summed over rows, the rows whose logits scored highest, the rows. */
    double lossSum, correct, seen;
    /** SHA-256 of the weights, states and optimizer state, in graph order: replicas must agree on it. */
    String digest = "";
    /** The backend the task trained on ({@code Backend.name()}), and the task's rank. */
    String device = "";
    int rank;
    /**
     * Seconds the task took in all, reading its rows, in its steps, and of those waiting for sums
     * after its backward.
     */
    double taskSeconds, readSeconds, stepSeconds, waitSeconds;

    static Snapshot of(Graph graph, Session s) {
      Snapshot out = new Snapshot();
      for (Param p : graph.params()) {
        out.values.put(p.name(), s.value(p));
        if (s.optimizer() != null) out.optimizerState.put(p.name(), s.optimizerState(p));
      }
      for (State st : graph.states()) out.values.put(st.name(), s.value(st));
      out.step = s.optimizer() == null ? 0 : s.optimizer().step();
      out.digest = digest(graph, out);
      return out;
    }

    private static String digest(Graph graph, Snapshot snap) {
      try {
        java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
        java.util.function.Consumer<float[]> add = v -> {
          java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * v.length);
          b.asFloatBuffer().put(v);
          md.update(b.array());
        };
        for (Param p : graph.params()) {
          add.accept(snap.values.get(p.name()));
          for (float[] slot : snap.optimizerState.getOrDefault(p.name(), new float[0][])) add.accept(slot);
        }
        for (State st : graph.states()) add.accept(snap.values.get(st.name()));
        return java.util.HexFormat.of().formatHex(md.digest());
      } catch (java.security.NoSuchAlgorithmException e) {
        throw new IllegalStateException(e);
      }
    }

    /** The epoch's training loss, the mean over its rows. */
    double meanLoss() {
      return seen == 0 ? Double.NaN : lossSum / seen;
    }

    /** The epoch's training accuracy over its rows. */
    double accuracy() {
      return seen == 0 ? 0 : correct / seen;
    }

    /** What a rank other than 0 sends back: its digest alone. */
    Snapshot digestOnly() {
      Snapshot out = new Snapshot();
      out.digest = digest;
      out.step = step;
      out.device = device;
      out.rank = rank;
      out.taskSeconds = taskSeconds;
      out.readSeconds = readSeconds;
      out.stepSeconds = stepSeconds;
      out.waitSeconds = waitSeconds;
      return out;
    }

    void restore(Graph graph, Session s) {
      for (Param p : graph.params()) {
        s.setParam(p, values.get(p.name()));
        float[][] slots = optimizerState.get(p.name());
        if (slots != null && slots.length > 0) s.setOptimizerState(p, slots);
      }
      for (State st : graph.states()) s.setState(st, values.get(st.name()));
      s.optimizer().setStep(step);
    }
  }

  /**
   * What a run gives back: the loss of every step, in order, where the checkpoint is (for a run
   * folder given by {@link Options#name}, the local copy), each task's digest of its replica after
   * the last epoch (all equal, or the run fails), and the backend each task trained on, by rank.
   */
  public record Result(List<Float> losses, Path checkpoint, List<String> replicaDigests, List<String> devices) {}

  /** The order in which task {@code rank} takes its partition's examples in {@code epoch}: shuffled, seeded. */
  static List<Example> order(List<Example> partition, long seed, int epoch, int rank) {
    List<Example> out = new ArrayList<>(partition);
    Collections.shuffle(out, new Random(seed * 1_000_003L + epoch * 31L + rank));
    return out;
  }

  /**
   * A test hook: fail this rank at this epoch (1-based), in the stage's first attempt only or in
   * every attempt, to exercise retries and their end.
   */
  public record Fault(int rank, int epoch, boolean everyAttempt) implements Serializable {
    public Fault(int rank, int epoch) {
      this(rank, epoch, false);
    }
  }

  /**
   * Trains the graph (features in input {@code x}, labels in {@code y}) on {@code data} with
   * {@code settings} (its batch size is the global batch; each of the data's partitions is a
   * task), writing the checkpoint into {@code runFolder/checkpoint} after every epoch.
   */
  public static Result train(JavaRDD<Example> data, Graph graph, TrainerSettings settings, Path runFolder) {
    return run(data, graph, settings, runFolder, Options.NONE, null);
  }

  /** After each epoch's checkpoint and metrics row are written: for example, sending the run folder elsewhere. */
  @FunctionalInterface
  public interface EpochEnd {
    void saved(int epoch) throws IOException;
  }

  /**
   * What a run may add to the plain one: a {@code test} set to evaluate on after each epoch, a
   * checkpoint to {@code resume} (its epochs done are skipped, its weights, optimizer state and
   * metrics rows go on), a {@code plot} drawn with each metrics.csv, a step at each
   * {@code epochEnd} (any of these may be null), an epoch of the plan to {@code stopAfter} (0:
   * none), leaving a checkpoint to resume, the {@code device} of the executors' sessions
   * ({@code cpu}, a Nodal selector, or {@code gpu}: see {@link ExecutorDevices}), and the
   * {@code name} that messages give the run folder (null: its path; a URI where the folder
   * written is a local copy of it).
   */
  public record Options(dev.nodal.data.Dataset test, Checkpoint.Loaded resume, RunFolder.Plot plot, EpochEnd epochEnd,
      int stopAfter, String device, String name) {
    public static final Options NONE = new Options(null, null, null, null, 0, "cpu", null);

    public Options {
      if (stopAfter < 0) throw new IllegalArgumentException("stop after epoch " + stopAfter + ": give 1 or more, or 0");
      device = ExecutorDevices.check(device);
    }

    public Options withName(String name) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }

    public Options withDevice(String device) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }

    public Options withTest(dev.nodal.data.Dataset test) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }

    public Options withResume(Checkpoint.Loaded resume) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }

    public Options withPlot(RunFolder.Plot plot) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }

    public Options withEpochEnd(EpochEnd epochEnd) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }

    public Options withStopAfter(int stopAfter) {
      return new Options(test, resume, plot, epochEnd, stopAfter, device, name);
    }
  }

  /** As {@link #train(JavaRDD, Graph, TrainerSettings, Path)}, with {@code options}. */
  public static Result train(JavaRDD<Example> data, Graph graph, TrainerSettings settings, Path runFolder,
      Options options) {
    return run(data, graph, settings, runFolder, options, null);
  }

  /**
   * As {@link #train(JavaRDD, Graph, TrainerSettings, Path)}, evaluating the weights on
   * {@code test} on the driver after every epoch: the run folder's metrics.csv gets a row per
   * epoch (training loss and accuracy over the epoch's batches, test loss and accuracy, samples
   * per second), committed with the checkpoint as {@code nodal train} commits it.
   */
  public static Result train(JavaRDD<Example> data, Graph graph, TrainerSettings settings, Path runFolder,
      dev.nodal.data.Dataset test) {
    return run(data, graph, settings, runFolder, Options.NONE.withTest(test), null);
  }

  /**
   * As {@link #train(JavaRDD, Graph, TrainerSettings, Path)}, from the rows of a Spark SQL
   * Dataset: {@code features} an array of numbers (float or double), {@code label} a number. Each
   * of the Dataset's partitions is a task.
   */
  public static Result train(org.apache.spark.sql.Dataset<org.apache.spark.sql.Row> rows, String features, String label,
      Graph graph, TrainerSettings settings, Path runFolder) {
    org.apache.spark.sql.types.StructType schema = rows.schema();
    for (String column : new String[] {features, label}) {
      if (!java.util.Arrays.asList(schema.fieldNames()).contains(column)) {
        throw new IllegalArgumentException("the Dataset has no column '" + column + "'; it has "
            + java.util.Arrays.toString(schema.fieldNames()));
      }
    }
    int f = schema.fieldIndex(features), l = schema.fieldIndex(label);
    JavaRDD<Example> examples = rows.javaRDD().map(r -> {
      List<Object> values = r.getList(f);
      float[] x = new float[values.size()];
      for (int i = 0; i < x.length; i++) x[i] = ((Number) values.get(i)).floatValue();
      return new Example(x, ((Number) r.get(l)).floatValue());
    });
    return run(examples, graph, settings, runFolder, Options.NONE, null);
  }

  /** As {@link #train(JavaRDD, Graph, TrainerSettings, Path)}, failing a task as {@code fault} says (tests). */
  static Result train(JavaRDD<Example> data, Graph graph, TrainerSettings settings, Path runFolder, Fault fault) {
    return run(data, graph, settings, runFolder, Options.NONE, fault);
  }

  private static Result run(JavaRDD<Example> data, Graph graph, TrainerSettings settings, Path runFolder,
      Options options, Fault fault) {
    SparkContext sc = data.context();
    if (sc.conf().getBoolean("spark.dynamicAllocation.enabled", false)) {
      throw new IllegalStateException("spark.dynamicAllocation.enabled is true: Spark's barrier stages, which training "
          + "needs so that every task runs at once, refuse dynamic allocation; turn it off for this job");
    }
    int tasks = data.getNumPartitions();
    int slots = Slots.await(sc, tasks);
    if (tasks > slots) {
      throw new IllegalStateException(String.format("the data has %d partitions, and training runs one task per partition "
          + "all at once, but the cluster offers %d slots (each executor's cores over spark.task.cpus = %d, after "
          + "waiting up to %s for executors to register); repartition the data to at most %d", tasks, slots,
          sc.conf().getInt("spark.task.cpus", 1), sc.conf().get(Slots.WAIT, Slots.DEFAULT_WAIT.toSeconds() + "s"), slots));
    }
    // Each epoch's stage reads the rows again: from the cache, not from their source.
    boolean persisted = data.getStorageLevel().equals(org.apache.spark.storage.StorageLevel.NONE());
    if (persisted) data.persist(org.apache.spark.storage.StorageLevel.MEMORY_AND_DISK());
    try {
      return run(data, graph, settings, runFolder, options, fault, tasks);
    } finally {
      if (persisted) data.unpersist(false);
    }
  }

  /** The bytes of partitions above which each epoch's tasks are said to carry rows: a warning names them. */
  static final long ROWS_IN_TASKS = 1 << 20;

  private static Result run(JavaRDD<Example> data, Graph graph, TrainerSettings settings, Path runFolder,
      Options options, Fault fault, int tasks) {
    SparkContext sc = data.context();
    dev.nodal.data.Dataset test = options.test();
    TrainerState resumed = options.resume() == null ? null : options.resume().requireTrainer();
    int done = resumed == null ? 0 : resumed.epochsDone();
    String where = options.name() != null ? options.name() : runFolder.toString();
    if (done >= settings.epochs()) {
      throw new IllegalArgumentException("the checkpoint in " + where + " has done " + done + " of the "
          + settings.epochs() + " epochs asked for: nothing to train; ask for more epochs to extend the run");
    }
    if (options.stopAfter() != 0 && options.stopAfter() <= done) {
      throw new IllegalArgumentException("stop after epoch " + options.stopAfter() + ": the checkpoint in " + where
          + " has done " + done + " epochs already; give a later epoch");
    }
    long carried = Partitions.partitionBytes(data);
    if (carried > ROWS_IN_TASKS) {
      log.warn("the data's partitions take {} bytes serialized, which every epoch's tasks carry (an RDD made by "
          + "parallelize holds its rows in them): read the rows where the tasks run instead, as "
          + "Partitions.idx and Partitions.of do", carried);
    }
    List<Integer> sizes = data.mapPartitions(it -> {
      int n = 0;
      while (it.hasNext()) {
        it.next();
        n++;
      }
      return List.of(n).iterator();
    }).collect();
    if (sizes.stream().mapToInt(Integer::intValue).sum() == 0) {
      throw new IllegalArgumentException("the data has no examples (" + tasks + " partitions, all empty)");
    }
    int perTask = (settings.batchSize() + tasks - 1) / tasks;
    int steps = (Collections.max(sizes) + perTask - 1) / perTask;
    // Batch norm's running statistics come from the task that trains on every step: the largest partition.
    int statsRank = sizes.indexOf(Collections.max(sizes));
    long totalSteps = (long) steps * settings.epochs();
    String graphJson = GraphFile.write(graph, settings.seed());
    log.info("each epoch's tasks carry {} bytes of partitions and the graph's {} characters; the weights go by broadcast",
        carried, graphJson.length());
    Path checkpoint = runFolder.resolve("checkpoint");
    RingSettings ring = RingSettings.of(sc.conf());
    Duration lostSlots = Slots.lostTimeout(sc);

    Snapshot snapshot;
    try (Session s = Backends.cpu().compile(graph, 1)) {
      s.setOptimizer(settings.optimizer().make());
      if (options.resume() != null) options.resume().restore(s, true);
      snapshot = Snapshot.of(graph, s);
    }
    List<Float> losses = new ArrayList<>();
    List<String> digests = List.of(), devices = List.of();
    long examples = sizes.stream().mapToLong(Integer::longValue).sum();
    RunFolder folder;
    try {
      folder = new RunFolder(runFolder, done).plot(options.plot());
      // The rows the checkpoint committed; for a new run none, so that rows of an earlier run in this folder go.
      folder.restore(resumed == null ? List.of() : resumed.metrics());
    } catch (IOException e) {
      throw new UncheckedIOException(e.getMessage(), e);
    }
    try (RunFolder run = folder) {
    int last = options.stopAfter() == 0 ? settings.epochs() : Math.min(settings.epochs(), options.stopAfter());
    for (int epoch = done + 1; epoch <= last; epoch++) {
      long t0 = System.nanoTime();
      String lastCheckpoint = epoch > 1 ? "; the last checkpoint is " + where + "/checkpoint (epoch " + (epoch - 1) + ")"
          : "";
      // A slot lost between epochs: Spark would retry submitting the barrier stage for minutes.
      if (Slots.count(sc) < tasks && Slots.await(sc, tasks, lostSlots) < tasks) {
        throw new IllegalStateException("epoch " + epoch + " not started: the cluster has offered " + Slots.count(sc)
            + " of the " + tasks + " slots the job needs for " + lostSlots.toSeconds() + " s (" + Slots.LOST + "): a "
            + "worker or executor was lost" + lastCheckpoint);
      }
      // The weights go to the executors once per epoch as a broadcast variable, not in every task's closure.
      org.apache.spark.broadcast.Broadcast<Snapshot> start = JavaSparkContext.fromSparkContext(sc).broadcast(snapshot);
      EpochTask task = new EpochTask(graphJson, settings.optimizer(), settings.schedule(), totalSteps, start, perTask,
          steps, settings.seed(), epoch, statsRank, ring, options.device(), fault);
      RDD<Snapshot> out = data.rdd().barrier().mapPartitions(task, false, ClassTag$.MODULE$.apply(Snapshot.class));
      List<Snapshot> results;
      String group = "nodal-" + java.util.UUID.randomUUID();
      // The caller's job group, if it set one, comes back after the epoch.
      String[] callers = {"spark.jobGroup.id", "spark.job.description", "spark.job.interruptOnCancel"};
      String[] saved = new String[callers.length];
      for (int i = 0; i < callers.length; i++) saved[i] = sc.getLocalProperty(callers[i]);
      sc.setJobGroup(group, "nodal training, epoch " + epoch, true);
      // A lost worker leaves Spark's retry of the barrier stage waiting for a slot that never comes;
      // "future jobs" reaches a submission that Spark is still retrying for want of slots.
      try (Slots.Watch watch = Slots.watch(sc, tasks, lostSlots,
          () -> sc.cancelJobGroupAndFutureJobs(group, "nodal: slots lost for " + Slots.LOST))) {
        try {
          // The shuffle after the barrier stage lets Spark retry it when a task fails.
          results = JavaRDD.fromRDD(out, ClassTag$.MODULE$.apply(Snapshot.class)).repartition(1).collect();
        } catch (Exception e) { // SparkException is checked, though Scala throws it undeclared
          if (watch.lost() != null) {
            throw new IllegalStateException("epoch " + epoch + " stopped: " + watch.lost() + lastCheckpoint, e);
          }
          throw new IllegalStateException("epoch " + epoch + " failed after Spark's retries: " + e.getMessage()
              + lastCheckpoint, e);
        }
      } finally {
        for (int i = 0; i < callers.length; i++) sc.setLocalProperty(callers[i], saved[i]);
        start.destroy(); // the executors' copies of this epoch's starting weights
      }
      digests = new ArrayList<>();
      devices = new ArrayList<>();
      List<Snapshot> byRank = new ArrayList<>(results); // the shuffle's order is not the ranks'
      byRank.sort(java.util.Comparator.comparingInt(r -> r.rank));
      Snapshot slowest = null;
      for (Snapshot r : byRank) {
        if (slowest == null || r.taskSeconds > slowest.taskSeconds) slowest = r;
        if (!r.values.isEmpty()) snapshot = r;
        digests.add(r.digest);
        devices.add(r.device);
      }
      if (digests.stream().distinct().count() != 1) {
        throw new IllegalStateException("epoch " + epoch + ": the tasks' replicas disagree (digests " + digests
            + "); the last checkpoint is " + where + "/checkpoint");
      }
      for (float l : snapshot.losses) losses.add(l);
      double seconds = (System.nanoTime() - t0) / 1e9;
      long saving = System.nanoTime();
      EpochMetrics row = save(graph, settings, snapshot, run, epoch, tasks, test, examples / seconds);
      if (options.epochEnd() != null) options.epochEnd().saved(epoch);
      String figures = test != null ? run.columns().summary(row) : String.format(java.util.Locale.ROOT,
          "loss %.4f, train accuracy %.4f (no test set)", row.loss(), row.trainAccuracy());
      // Where an epoch's time goes: the slowest task's reading, steps (of them, waiting on sums
      // after its backward) and the rest of it (the weights' broadcast, the ring's forming, the
      // snapshot); the rest of the stage (scheduling, collecting the replicas); the driver's
      // evaluation and saving.
      log.info(String.format(java.util.Locale.ROOT, "epoch %d/%d: %s, %.0f samples/s, %.2f s (the slowest task: rows "
          + "read in %.2f s, steps %.2f s of which %.2f s waiting on sums, its rest %.2f s; the stage's rest %.2f s); "
          + "evaluating and saving %.2f s", epoch, settings.epochs(), figures, row.samplesPerSecond(), seconds,
          slowest.readSeconds, slowest.stepSeconds, slowest.waitSeconds,
          slowest.taskSeconds - slowest.readSeconds - slowest.stepSeconds, seconds - slowest.taskSeconds,
          (System.nanoTime() - saving) / 1e9));
    }
    } catch (IOException e) {
      throw new UncheckedIOException("the run folder " + where + ": " + e.getMessage(), e);
    }
    return new Result(List.copyOf(losses), checkpoint, List.copyOf(digests), List.copyOf(devices));
  }

  /**
   * Writes the checkpoint of {@code epoch} (what {@code nodal train} writes, so that
   * {@code --resume} continues after it); with a {@code test} set, evaluates on it and commits the
   * epoch's metrics row with the checkpoint, then adds it to metrics.csv. Returns the row (NaN
   * test figures without a test set).
   */
  private static EpochMetrics save(Graph graph, TrainerSettings settings, Snapshot snapshot, RunFolder run, int epoch,
      int tasks, dev.nodal.data.Dataset test, double samplesPerSecond) throws IOException {
    dev.nodal.backend.CompileOptions options = dev.nodal.backend.CompileOptions.maxBatch(256)
        .keep(dev.nodal.train.Evaluation.logits(graph).name());
    try (Session s = Backends.cpu().compile(graph, options)) {
      s.setOptimizer(settings.optimizer().make());
      snapshot.restore(graph, s);
      dev.nodal.train.Evaluation ev = test == null ? null : dev.nodal.train.Evaluation.of(s, test);
      EpochMetrics row = new EpochMetrics(epoch, snapshot.step, snapshot.meanLoss(), snapshot.accuracy(),
          ev == null ? Double.NaN : ev.loss(), ev == null ? Double.NaN : ev.accuracy(), samplesPerSecond);
      TrainerState state = TrainerState.of(settings, epoch, snapshot.step).withDevice("spark (" + tasks + " tasks)");
      if (ev == null) { // without test figures, no row: metrics.csv and trainer.json hold whole rows only
        Checkpoint.save(run.folder().resolve("checkpoint"), graph, settings.seed(), s, state);
        return row;
      }
      List<EpochMetrics> rows = new ArrayList<>(run.rows());
      rows.add(row); // the row commits with the checkpoint
      Checkpoint.save(run.folder().resolve("checkpoint"), graph, settings.seed(), s,
          state.withTest(ev.loss(), ev.accuracy()).withMetrics(rows));
      run.add(row);
      return row;
    }
  }

  /** One epoch on one task: what the barrier stage runs per partition. */
  static final class EpochTask extends AbstractFunction1<scala.collection.Iterator<Example>,
      scala.collection.Iterator<Snapshot>> implements Serializable {
    private static final long serialVersionUID = 1L;
    private final String graphJson;
    private final OptimizerSpec optimizer;
    private final Schedule schedule;
    private final long totalSteps;
    private final org.apache.spark.broadcast.Broadcast<Snapshot> start;
    private final int perTask, steps, epoch, statsRank;
    private final long seed;
    private final RingSettings ring;
    private final String device;
    private final Fault fault;

    /**
     * Each task's optimizer is made from {@code optimizer} with {@code schedule} attached over the
     * run's {@code totalSteps}, and goes on from the step count of {@code start}.
     */
    EpochTask(String graphJson, OptimizerSpec optimizer, Schedule schedule, long totalSteps,
        org.apache.spark.broadcast.Broadcast<Snapshot> start, int perTask, int steps, long seed, int epoch, int statsRank,
        RingSettings ring, String device, Fault fault) {
      this.graphJson = graphJson;
      this.optimizer = optimizer;
      this.schedule = schedule;
      this.totalSteps = totalSteps;
      this.start = start;
      this.perTask = perTask;
      this.steps = steps;
      this.seed = seed;
      this.epoch = epoch;
      this.statsRank = statsRank;
      this.ring = ring;
      this.device = device;
      this.fault = fault;
    }

    @Override
    public scala.collection.Iterator<Snapshot> apply(scala.collection.Iterator<Example> rows) {
      long taskStart = System.nanoTime();
      BarrierTaskContext ctx = BarrierTaskContext.get();
      int rank = ctx.partitionId();
      List<Example> all = new ArrayList<>();
      rows.foreach(e -> all.add(e));
      List<Example> mine = order(all, seed, epoch, rank);
      double readSeconds = (System.nanoTime() - taskStart) / 1e9;
      if (fault != null && fault.rank() == rank && fault.epoch() == epoch
          && (fault.everyAttempt() || ctx.stageAttemptNumber() == 0)) {
        throw new IllegalStateException("injected failure: rank " + rank + ", epoch " + epoch + ", stage attempt "
            + ctx.stageAttemptNumber());
      }
      // The device first: a task that cannot have one fails before its peers form a ring with it.
      try (ExecutorDevices.Lease lease = ExecutorDevices.lease(device, ctx); Collective peers = joinRing(ctx, rank, ring)) {
        Snapshot end = run(peers, mine, rank, lease.backend());
        end.readSeconds = readSeconds;
        end.taskSeconds = (System.nanoTime() - taskStart) / 1e9;
        return CollectionConverters.asScala(List.of(rank == 0 ? end : end.digestOnly()).iterator());
      } catch (IOException e) {
        throw new UncheckedIOException("rank " + rank + ": joining the ring: " + e.getMessage(), e);
      }
    }

    /**
     * Listens on this executor's own address (the host Spark knows it by, which the other
     * executors reach it by; see {@link RingSettings#listen}), swaps {@code host:port} with every task once through Spark, then
     * joins the ring with the job's key.
     */
    private static Collective joinRing(BarrierTaskContext ctx, int rank, RingSettings ring) throws IOException {
      String address = ctx.getTaskInfos()[rank].address();
      String host = address.contains(":") ? address.substring(0, address.lastIndexOf(':')) : address;
      ServerSocket server = ring.listen(host);
      try {
        String[] all = ctx.allGather(host + ":" + server.getLocalPort());
        List<InetSocketAddress> addresses = new ArrayList<>();
        for (String a : all) {
          int colon = a.lastIndexOf(':');
          addresses.add(new InetSocketAddress(a.substring(0, colon), Integer.parseInt(a.substring(colon + 1))));
        }
        return RingCollective.join(rank, addresses, server, ring.timeout(), ring.silence(), ring.key(ctx.stageId(),
            ctx.stageAttemptNumber()), ring.tls());
      } catch (IOException | RuntimeException e) {
        server.close(); // join closes it itself; a failed allGather would leave it open on the executor
        throw e;
      }
    }

    private Snapshot run(Collective ring, List<Example> mine, int rank, dev.nodal.backend.Backend backend) {
      Graph graph = GraphFile.read(graphJson, "the driver's graph");
      Input x = (Input) graph.node("x"), y = (Input) graph.node("y");
      int features = x.shape().exampleSize(), params = 0;
      for (Param p : graph.params()) params += p.shape().exampleSize();
      dev.nodal.graph.Node logits = dev.nodal.train.Evaluation.logits(graph);
      try (Session s = backend.compile(graph, dev.nodal.backend.CompileOptions.maxBatch(perTask).keep(logits.name()));
          dev.nodal.parallel.BucketedSum sum = new dev.nodal.parallel.BucketedSum(graph, ring, 3,
              dev.nodal.parallel.BucketedSum.BUCKET_FLOATS)) {
        s.setOptimizer(optimizer.make().schedule(schedule, totalSteps));
        start.value().restore(graph, s);
        float[] losses = new float[steps];
        double lossSum = 0, correct = 0, seen = 0;
        // Per step: each parameter's gradient times the rows, summed in buckets as backward
        // finishes them, and behind them the loss times the rows, the rows, the rows classified
        // right; every entry is written each step, so one array serves all.
        float[] packed = sum.packed(), g = new float[params];
        long loopStart = System.nanoTime(), waited = 0;
        float[] xs = new float[0], ys = new float[0];
        for (int step = 0; step < steps; step++) {
          int from = Math.min(mine.size(), step * perTask), n = Math.min(mine.size(), from + perTask) - from;
          // Without rows of its own a task runs its first example (or zeros) and weighs it 0.
          List<Example> slice = n > 0 ? mine.subList(from, from + n)
              : List.of(mine.isEmpty() ? new Example(new float[features], 0f) : mine.get(0));
          if (ys.length != slice.size()) { // a full step's arrays serve every step but a shorter last one
            xs = new float[slice.size() * features];
            ys = new float[slice.size()];
          }
          for (int i = 0; i < slice.size(); i++) {
            System.arraycopy(slice.get(i).features(), 0, xs, i * features, features);
            ys[i] = slice.get(i).label();
          }
          s.setInput(x, xs);
          s.setInput(y, ys);
          s.forward();
          packed[params] = s.loss() * n;
          packed[params + 1] = n;
          packed[params + 2] = n == 0 ? 0 : dev.nodal.train.Evaluation.correct(s.value(logits), ys, n); // not stand-ins
          sum.backward(s, n, n == 0);
          waited += sum.exposedNanos();
          float rows = packed[params + 1];
          for (int i = 0; i < params; i++) g[i] = packed[i] / rows;
          s.setGradients(g);
          s.update(); // at the schedule's rate of the optimizer's step, restored from the snapshot
          losses[step] = packed[params] / rows;
          lossSum += packed[params];
          seen += rows;
          correct += packed[params + 2];
        }
        // Batch norm's running statistics: those of the task with the largest partition, which
        // trained on real rows at every step (a task whose rows ran out ran stand-ins).
        for (State st : graph.states()) {
          float[] v = s.value(st);
          ring.broadcast(v, 0, v.length, statsRank);
          s.setState(st, v);
        }
        Snapshot end = Snapshot.of(graph, s);
        end.device = backend.name();
        end.rank = rank;
        end.losses = losses;
        end.lossSum = lossSum;
        end.correct = correct;
        end.seen = seen;
        end.stepSeconds = (System.nanoTime() - loopStart) / 1e9;
        end.waitSeconds = waited / 1e9;
        return end;
      }
    }
  }
}
