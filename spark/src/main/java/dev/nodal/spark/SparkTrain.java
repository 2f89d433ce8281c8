package dev.nodal.spark;

import dev.nodal.cli.Curves;
import dev.nodal.data.DataException;
import dev.nodal.data.DataOptions;
import dev.nodal.data.Dataset;
import dev.nodal.data.FashionMnist;
import dev.nodal.data.Idx;
import dev.nodal.graph.Graph;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.TrainerSettings;
import dev.nodal.optim.Sgd;
import dev.nodal.train.ModelZoo;
import dev.nodal.train.RunFolder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code spark-submit --class dev.nodal.spark.SparkTrain nodal-spark-all.jar [options]}: trains a
 * model of Nodal's zoo on Fashion-MNIST as a Spark job, one task per slot, and writes the usual run
 * folder (checkpoint, metrics.csv, curves.png), which {@code nodal eval --checkpoint} reads.
 *
 * <p>Options:
 * <ul>
 *   <li>{@code --data DIR}: IDX files in a folder on any Hadoop file system ({@code hdfs://…},
 *       {@code s3a://…}, {@code file:///…}), from which each task reads its own rows
 *       ({@link Partitions}), holding the two training files and, for the per-epoch test figures,
 *       the two t10k files; or a local folder on the driver, searched as {@code nodal train}
 *       searches, whose rows the driver broadcasts once; or CSV files, a path ending in
 *       {@code .csv}, a label and the pixels on each line, read by the executors.
 *   <li>{@code --out DIR}: the run folder, default {@code runs/spark}: a path on the driver, or a
 *       URI of any Hadoop file system, written through a local copy with each file and the
 *       checkpoint replaced whole ({@link HadoopRunFolder}).
 *   <li>{@code --resume DIR}: continue the run in that folder (a path or a URI) from its
 *       checkpoint, with its settings; {@code --epochs} extends it (and so changes its
 *       learning-rate schedule). {@code --stop-after N} stops after epoch N of the plan, leaving a
 *       checkpoint to resume from, which then continues as if never stopped.
 *   <li>{@code --model mlp|cnn|cnn-bn}, {@code --epochs N} (default 1), {@code --batch-size N} (the
 *       global batch, default 128), {@code --seed N} (default 42), {@code --lr X} (SGD with
 *       momentum 0.9, default 0.05).
 *   <li>{@code --device D}: the executors' device (default {@code cpu}): a Nodal selector
 *       ({@code auto}, {@code opencl}, {@code opencl:P:D}) opened on each executor, or {@code gpu}
 *       for the GPU that Spark's scheduling assigns each task ({@link ExecutorDevices}).
 *   <li>{@code --tasks N}: default, the tasks the cluster runs at once, counted once its executors
 *       have registered ({@link Slots}).
 * </ul>
 */
public final class SparkTrain {
  private SparkTrain() {}

  public static void main(String[] args) throws Exception {
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("nodal-train"))) {
      run(sc, args);
    }
  }

  /**
   * The run folder that {@code option} ({@code --out} or {@code --resume}) names, as a URI that
   * Hadoop's file systems resolve ({@code hdfs://…}, {@code s3a://…}, {@code file:///…}), or null
   * for a path on the driver's disk. A URI is never taken for a local path (which would make a
   * folder named {@code hdfs:}).
   */
  static String runUri(String option, String value) {
    // As --data: "scheme://" makes a URI (and file: one too); anything else, "a:b" included, is a path.
    if (!value.contains("://") && !value.regionMatches(true, 0, "file:", 0, 5)) return null;
    java.net.URI uri;
    try {
      uri = new java.net.URI(value);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException(option + " " + value + ": not a URI (" + e.getMessage() + ")");
    }
    if (uri.getPath() == null || !uri.getPath().startsWith("/")) {
      throw new IllegalArgumentException(option + " " + value + ": give an absolute URI, as file:///data/runs/a or "
          + "hdfs://namenode:8020/user/me/run");
    }
    return value;
  }

  /** Trains as {@link #main} does, on a given Spark context; returns the result. */
  static SparkTrainer.Result run(JavaSparkContext sc, String... args) throws IOException {
    String data = null; // a local folder, or a URI that Hadoop resolves: kept as text, since Path.of would fold "//"
    String out = null, resume = null, model = null, device = "cpu";
    Integer epochs = null, batch = null;
    int tasks = 0, stopAfter = 0; // tasks 0: as many as the cluster has slots, once its executors registered
    Long seed = null;
    Float lr = null;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null) throw new IllegalArgumentException(args[i] + " needs a value");
      switch (args[i]) {
        case "--data" -> data = value;
        case "--out" -> out = value;
        case "--resume" -> resume = value;
        case "--model" -> model = value;
        case "--epochs" -> epochs = Integer.parseInt(value);
        case "--batch-size" -> batch = Integer.parseInt(value);
        case "--tasks" -> tasks = Integer.parseInt(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--lr" -> lr = Float.parseFloat(value);
        case "--stop-after" -> stopAfter = Integer.parseInt(value);
        case "--device" -> device = value;
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --data, --out, --resume, "
            + "--model, --epochs, --batch-size, --tasks, --seed, --lr, --stop-after, --device");
      }
      i++;
    }
    if (resume != null) {
      if (out != null) throw new IllegalArgumentException("--resume continues the run in its own folder: leave out --out");
      List<String> fixed = new java.util.ArrayList<>();
      if (model != null) fixed.add("--model");
      if (batch != null) fixed.add("--batch-size");
      if (seed != null) fixed.add("--seed");
      if (lr != null) fixed.add("--lr");
      if (!fixed.isEmpty()) {
        throw new IllegalArgumentException("--resume " + resume + ": the checkpoint fixes " + String.join(", ", fixed)
            + "; leave " + (fixed.size() == 1 ? "it" : "them") + " out (--epochs extends the run)");
      }
    }
    if (model != null && !List.of(ModelZoo.NAMES).contains(model)) {
      throw new IllegalArgumentException("--model " + model + ": unknown; known: " + Arrays.toString(ModelZoo.NAMES));
    }
    String where = resume != null ? resume : out != null ? out : Path.of("runs", "spark").toString();
    String uri = runUri(resume != null ? "--resume" : "--out", where);
    if (tasks < 0) throw new IllegalArgumentException("--tasks " + tasks + ": give at least 1");
    if (tasks == 0) {
      tasks = Slots.await(sc.sc(), 0);
      if (tasks == 0) {
        throw new IllegalStateException("no executor registered within " + Slots.WAIT + " ("
            + sc.getConf().get(Slots.WAIT, Slots.DEFAULT_WAIT.toSeconds() + "s") + "); check the cluster's workers");
      }
    }
    try (HadoopRunFolder remote = uri == null ? null : new HadoopRunFolder(uri, sc.hadoopConfiguration())) {
      Path folder = remote == null ? Path.of(where) : remote.local();
      Checkpoint.Loaded loaded = null;
      TrainerSettings settings;
      if (resume != null) {
        if (remote != null && !remote.fetch()) throw new DataException(resume + ": no checkpoint there to resume");
        loaded = Checkpoint.load(folder);
        TrainerSettings saved = loaded.requireTrainer().settings();
        settings = epochs == null ? saved : saved.withEpochs(epochs);
      } else {
        settings = TrainerSettings.builder().model(model == null ? "mlp" : model).epochs(epochs == null ? 1 : epochs)
            .batchSize(batch == null ? 128 : batch).seed(seed == null ? 42 : seed)
            .optimizer(Sgd.builder().learningRate(lr == null ? 0.05f : lr).momentum(0.9f).spec()).build();
      }
      SparkTrainer.Options options = SparkTrainer.Options.NONE.withResume(loaded).withStopAfter(stopAfter).withDevice(device)
          .withName(uri)
          .withPlot(new Curves(RunFolder.Columns.CLASSIFIER))
          .withEpochEnd(remote == null ? null : epoch -> remote.publish());
      JavaRDD<Example> rows;
      int features = -1; // known on the driver without a job, except for CSV
      if (data != null && data.endsWith(".csv")) {
        rows = csv(sc, data, tasks); // no test set beside a CSV
      } else {
        // The executors read their own rows (a URI: from the files; a local folder: from a
        // broadcast made once), so that each epoch's tasks carry the weights alone.
        Dataset test;
        if (data != null && data.contains("://")) {
          Partitions.IdxRows idx = Partitions.idx(sc, data, FashionMnist.FILES[0], FashionMnist.FILES[1], tasks);
          rows = idx.rows();
          features = idx.features();
          test = hadoopTest(sc, data);
        } else {
          FashionMnist.Splits split = FashionMnist.load(data == null ? null : Path.of(data), DataOptions.fromEnvironment());
          if (split.train().size() == 0) throw new DataException("no training examples in " + split.folder());
          rows = Partitions.of(sc, split.train(), tasks);
          features = split.train().featureSize();
          test = split.test();
        }
        options = options.withTest(test);
      }
      Graph graph = loaded != null ? loaded.graph()
          : ModelZoo.build(settings.model(), settings.seed(), features >= 0 ? features : rows.first().features().length,
              FashionMnist.CLASSES);
      SparkTrainer.Result result = SparkTrainer.train(rows, graph, settings, folder, options);
      float last = result.losses().isEmpty() ? Float.NaN : result.losses().get(result.losses().size() - 1);
      int reached = stopAfter == 0 ? settings.epochs() : Math.min(stopAfter, settings.epochs());
      System.out.printf(java.util.Locale.ROOT, "Trained %s on %d tasks to epoch %d of %d: last step's loss %.4f; %s%n",
          settings.model(), tasks, reached, settings.epochs(), last, remote == null ? "checkpoint in " + result.checkpoint()
          + " (evaluate with: ./nodal eval --checkpoint " + where + ")" : "run folder " + remote);
      return result;
    }
  }

  /** The folder's t10k files as the test set, or null (with a line on stderr) when it has none. */
  private static Dataset hadoopTest(JavaSparkContext sc, String data) throws DataException {
    Idx.Array images, labels;
    try {
      images = Partitions.read(sc, data, FashionMnist.FILES[2]);
      labels = Partitions.read(sc, data, FashionMnist.FILES[3]);
    } catch (DataException e) {
      System.err.println("No test set (" + e.getMessage() + "): the run folder gets no metrics rows");
      return null;
    }
    return Dataset.fromIdx("test", data + "/" + FashionMnist.FILES[2], images, data + "/" + FashionMnist.FILES[3], labels,
        FashionMnist.CLASSES);
  }

  /**
   * Examples from CSV files on any Hadoop file system (a file, a folder's files or a glob ending
   * in {@code .csv}), parsed on the executors: each line {@code label,value,value,…}, the values
   * pixels of 0 to 255 (divided by 255, as {@code nodal train} does); a header line whose first
   * field is not a number is skipped. Split into {@code tasks} partitions.
   */
  static JavaRDD<Example> csv(JavaSparkContext sc, String uri, int tasks) {
    return sc.textFile(uri).filter(line -> !line.isBlank() && !line.trim().isEmpty()
        && (Character.isDigit(line.trim().charAt(0)) || line.trim().charAt(0) == '-')).map(line -> {
          String[] f = line.split(",");
          float[] x = new float[f.length - 1];
          for (int i = 1; i < f.length; i++) x[i - 1] = Float.parseFloat(f[i].trim()) / 255f;
          return new Example(x, Float.parseFloat(f[0].trim()));
        }).repartition(tasks);
  }
}
