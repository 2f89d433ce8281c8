package dev.nodal.spark;

import dev.nodal.data.DataException;
import dev.nodal.data.DataOptions;
import dev.nodal.data.Dataset;
import dev.nodal.data.FashionMnist;
import dev.nodal.data.Idx;
import dev.nodal.graph.Graph;
import dev.nodal.io.TrainerSettings;
import dev.nodal.optim.Sgd;
import dev.nodal.train.ModelZoo;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;

/**
 * {@code spark-submit --class dev.nodal.spark.SparkTrain nodal-spark-all.jar [options]}: trains a
 * model of Nodal's zoo on Fashion-MNIST as a Spark job, one task per slot, and writes the usual
 * checkpoint into the run folder on the driver's file system (in client mode, this machine's),
 * which {@code nodal eval --checkpoint} reads.
 *
 * <p>Options: {@code --data DIR} (IDX files: a local folder on the driver, searched as
 * {@code nodal train} searches, whose rows the driver broadcasts once, or a folder on any Hadoop
 * file system whose files each task reads its own rows from ({@link Partitions}), such as
 * {@code hdfs://…/fashion-mnist} or {@code s3a://…}, holding the two training files and, for the
 * per-epoch test figures, the two t10k files; or CSV files,
 * a path ending in {@code .csv}, with a label and the pixels on each line, read by the executors), {@code --out DIR} (run folder, default {@code runs/spark}),
 * {@code --model mlp|cnn|cnn-bn}, {@code --epochs N} (default 1), {@code --batch-size N} (the global
 * batch, default 128), {@code --tasks N} (default: the tasks the cluster runs at once, counted once its executors
 * have registered: {@link Slots}),
 * {@code --seed N} (default 42), {@code --lr X} (SGD with momentum 0.9, default 0.05).
 */
public final class SparkTrain {
  private SparkTrain() {}

  public static void main(String[] args) throws Exception {
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setAppName("nodal-train"))) {
      run(sc, args);
    }
  }

  /**
   * The run folder {@code --out} names: a local path or a {@code file:} URI. Any other URI
   * ({@code hdfs://…}, {@code s3a://…}) is refused: the checkpoint is written through the local
   * file system, which would take such a URI for a folder named {@code hdfs:}.
   */
  static Path outFolder(String value) {
    // As --data: "scheme://" makes a URI (and file: one too); anything else, "a:b" included, is a path.
    if (!value.contains("://") && !value.regionMatches(true, 0, "file:", 0, 5)) return Path.of(value);
    java.net.URI uri;
    try {
      uri = new java.net.URI(value);
    } catch (java.net.URISyntaxException e) {
      throw new IllegalArgumentException("--out " + value + ": not a URI (" + e.getMessage() + ")");
    }
    if (!"file".equalsIgnoreCase(uri.getScheme())) {
      throw new IllegalArgumentException("--out " + value + ": the run folder must be on the driver's file system (a "
          + "path or a file: URI); checkpoints on " + uri.getScheme() + ": are not written yet");
    }
    try {
      return Path.of(uri);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--out " + value + ": give an absolute file: URI, as file:///data/runs/a ("
          + e.getMessage() + ")", e);
    }
  }

  /** Trains as {@link #main} does, on a given Spark context; returns the result. */
  static SparkTrainer.Result run(JavaSparkContext sc, String... args) throws DataException {
    String data = null; // a local folder, or a URI that Hadoop resolves: kept as text, since Path.of would fold "//"
    Path out = Path.of("runs", "spark");
    String model = "mlp";
    int epochs = 1, batch = 128, tasks = 0; // 0: as many as the cluster has slots, once its executors registered
    long seed = 42;
    float lr = 0.05f;
    for (int i = 0; i < args.length; i++) {
      String value = i + 1 < args.length ? args[i + 1] : null;
      if (value == null) throw new IllegalArgumentException(args[i] + " needs a value");
      switch (args[i]) {
        case "--data" -> data = value;
        case "--out" -> out = outFolder(value);
        case "--model" -> model = value;
        case "--epochs" -> epochs = Integer.parseInt(value);
        case "--batch-size" -> batch = Integer.parseInt(value);
        case "--tasks" -> tasks = Integer.parseInt(value);
        case "--seed" -> seed = Long.parseLong(value);
        case "--lr" -> lr = Float.parseFloat(value);
        default -> throw new IllegalArgumentException("unknown option " + args[i] + "; known: --data, --out, --model, "
            + "--epochs, --batch-size, --tasks, --seed, --lr");
      }
      i++;
    }
    if (tasks < 0) throw new IllegalArgumentException("--tasks " + tasks + ": give at least 1");
    if (tasks == 0) {
      tasks = Slots.await(sc.sc(), 0);
      if (tasks == 0) {
        throw new IllegalStateException("no executor registered within " + Slots.WAIT + " ("
            + sc.getConf().get(Slots.WAIT, Slots.DEFAULT_WAIT.toSeconds() + "s") + "); check the cluster's workers");
      }
    }
    if (!List.of(ModelZoo.NAMES).contains(model)) {
      throw new IllegalArgumentException("--model " + model + ": unknown; known: " + Arrays.toString(ModelZoo.NAMES));
    }
    if (data != null && data.endsWith(".csv")) {
      JavaRDD<Example> rows = csv(sc, data, tasks);
      int features = rows.first().features().length;
      return train(sc, rows, model, epochs, batch, tasks, seed, lr, features, out, null); // no test set beside a CSV
    }
    // The executors read their own rows (a URI: from the files; a local folder: from a broadcast
    // made once), so that each epoch's tasks carry the weights alone.
    JavaRDD<Example> rows;
    int per;
    Dataset test;
    if (data != null && data.contains("://")) {
      rows = Partitions.idx(sc, data, FashionMnist.FILES[0], FashionMnist.FILES[1], tasks);
      per = rows.first().features().length;
      test = hadoopTest(sc, data);
    } else {
      FashionMnist.Splits split = FashionMnist.load(data == null ? null : Path.of(data), DataOptions.fromEnvironment());
      if (split.train().size() == 0) throw new DataException("no training examples in " + split.folder());
      rows = Partitions.of(sc, split.train(), tasks);
      per = split.train().featureSize();
      test = split.test();
    }
    return train(sc, rows, model, epochs, batch, tasks, seed, lr, per, out, test);
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
    return idxDataset(data, images, labels);
  }

  /** The test images and labels as a Dataset, pixels over 255 as {@code nodal train} reads them. */
  private static Dataset idxDataset(String where, Idx.Array images, Idx.Array labels) throws DataException {
    if (labels.count() != images.count()) {
      throw new DataException(where + ": " + images.count() + " test images but " + labels.count() + " labels");
    }
    int per = images.itemSize();
    float[] x = new float[images.count() * per], y = new float[labels.count()];
    for (int i = 0; i < x.length; i++) x[i] = (images.data()[i] & 0xff) / 255f;
    for (int i = 0; i < y.length; i++) y[i] = labels.data()[i] & 0xff;
    return new Dataset("test", x, y, images.count(), per, FashionMnist.CLASSES);
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

  private static SparkTrainer.Result train(JavaSparkContext sc, JavaRDD<Example> rdd, String model, int epochs, int batch,
      int tasks, long seed, float lr, int features, Path out, Dataset test) {
    TrainerSettings settings = TrainerSettings.builder().model(model).epochs(epochs).batchSize(batch).seed(seed)
        .optimizer(Sgd.builder().learningRate(lr).momentum(0.9f).spec()).build();
    Graph graph = ModelZoo.build(model, seed, features, FashionMnist.CLASSES);
    SparkTrainer.Result result = SparkTrainer.train(rdd, graph, settings, out, test);
    System.out.printf("Trained %s on %d tasks for %d epoch%s: last step's loss %.4f; checkpoint in %s "
        + "(evaluate with: ./nodal eval --checkpoint %s)%n", model, tasks, epochs, epochs == 1 ? "" : "s",
        result.losses().get(result.losses().size() - 1), result.checkpoint(), out);
    return result;
  }
}
