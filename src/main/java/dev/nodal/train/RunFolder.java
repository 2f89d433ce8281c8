package dev.nodal.train;

import dev.nodal.io.AtomicFiles;
import dev.nodal.io.EpochMetrics;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.StandardOpenOption;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a training run leaves for a person: {@code metrics.csv} beside the checkpoint, and
 * whatever a {@link Plot} draws from the same rows (the command line's {@code curves.png}). An open run folder holds an exclusive lock on its {@code .lock} file (which names
 * the holder's process id), so a second writer fails at once instead of clobbering the run; the
 * lock goes with {@link #close()} or with the process.
 */
public final class RunFolder implements AutoCloseable {
  private static final Logger log = LoggerFactory.getLogger(RunFolder.class);
  /** The header of a classifier's metrics.csv ({@link Columns#CLASSIFIER}). */
  public static final String HEADER = Columns.CLASSIFIER.header;

  /**
   * The columns of a metrics.csv: what a task's figures are called. Both hold the same
   * {@link EpochMetrics}, one row per epoch.
   */
  public enum Columns {
    /** Loss and accuracy on the training and the test examples. */
    CLASSIFIER("epoch,step,loss,train_accuracy,test_loss,test_accuracy,samples_per_s"),
    /**
     * A language model's loss per byte on the training and the held-out (validation) bytes, in nats
     * and in bits per byte (nats / ln 2), and the share of next bytes predicted right; samples are
     * windows.
     */
    LANGUAGE_MODEL("epoch,step,train_loss,train_bits_per_byte,val_loss,val_bits_per_byte,train_accuracy,val_accuracy,"
        + "samples_per_s");

    private final String header;

    Columns(String header) {
      this.header = header;
    }

    /** The first line of metrics.csv. */
    public String header() {
      return header;
    }

    /** Bits per byte of a loss in nats. */
    public static double bits(double nats) {
      return nats / Math.log(2);
    }

    private String csv(EpochMetrics r) {
      return this == CLASSIFIER
          ? String.format(Locale.ROOT, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.1f", r.epoch(), r.step(), r.loss(), r.trainAccuracy(),
              r.testLoss(), r.testAccuracy(), r.samplesPerSecond())
          : String.format(Locale.ROOT, "%d,%d,%.6f,%.6f,%.6f,%.6f,%.6f,%.6f,%.1f", r.epoch(), r.step(), r.loss(),
              bits(r.loss()), r.testLoss(), bits(r.testLoss()), r.trainAccuracy(), r.testAccuracy(), r.samplesPerSecond());
    }

    /** A line of metrics.csv; throws NumberFormatException or IllegalArgumentException on anything else. */
    private EpochMetrics parse(String line) {
      String[] c = line.split(",", -1);
      int columns = header.split(",").length;
      if (c.length != columns) throw new IllegalArgumentException(c.length + " columns, not " + columns);
      int epoch = Integer.parseInt(c[0].strip());
      long step = Long.parseLong(c[1].strip());
      return this == CLASSIFIER
          ? new EpochMetrics(epoch, step, Double.parseDouble(c[2]), Double.parseDouble(c[3]), Double.parseDouble(c[4]),
              Double.parseDouble(c[5]), Double.parseDouble(c[6]))
          : new EpochMetrics(epoch, step, Double.parseDouble(c[2]), Double.parseDouble(c[6]), Double.parseDouble(c[4]),
              Double.parseDouble(c[7]), Double.parseDouble(c[8]));
    }

    /** An epoch's figures as the log gives them. */
    public String summary(EpochMetrics r) {
      return this == CLASSIFIER
          ? String.format(Locale.ROOT, "loss %.4f, train accuracy %.4f, test loss %.4f, test accuracy %.4f", r.loss(),
              r.trainAccuracy(), r.testLoss(), r.testAccuracy())
          : String.format(Locale.ROOT, "loss %.4f (%.3f bits/byte), validation loss %.4f (%.3f bits/byte), "
              + "validation accuracy %.4f", r.loss(), bits(r.loss()), r.testLoss(), bits(r.testLoss()), r.testAccuracy());
    }
  }

  /** Draws the rows into the folder each time metrics.csv is written. */
  @FunctionalInterface
  public interface Plot {
    void draw(Path folder, List<EpochMetrics> rows) throws IOException;
  }

  private final Path folder;
  private final Columns columns;
  private final List<EpochMetrics> rows = new ArrayList<>();
  private final FileChannel lockFile;
  private final FileLock lock;
  private Plot plot;
  private boolean plotFailed;

  /**
   * Opens a run folder, creating it if needed and locking it, keeping the rows of epochs up to
   * {@code epochsDone} (a resumed run).
   *
   * @throws IllegalStateException when another process (or another run in this one) holds it
   */
  public RunFolder(Path folder, int epochsDone) throws IOException {
    this(folder, epochsDone, Columns.CLASSIFIER);
  }

  /** As {@link #RunFolder(Path, int)}, with metrics.csv in {@code columns}. */
  public RunFolder(Path folder, int epochsDone, Columns columns) throws IOException {
    this.folder = folder;
    this.columns = columns;
    try {
      Files.createDirectories(folder);
    } catch (IOException e) {
      throw new IOException("cannot create the run folder " + folder + ": " + e, e);
    }
    Path lockPath = folder.resolve(".lock");
    lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    FileLock held;
    try {
      held = lockFile.tryLock();
    } catch (OverlappingFileLockException e) {
      held = null;
    }
    if (held == null) {
      String holder = Files.readString(lockPath).strip();
      lockFile.close();
      throw new IllegalStateException("run folder " + folder + " is in use by process " + (holder.isEmpty() ? "(unknown)"
          : holder) + " (it holds " + lockPath + "); wait for that run to end, or choose another --out");
    }
    lock = held;
    lockFile.truncate(0);
    lockFile.write(java.nio.ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)), 0);
    rows.addAll(readMetrics(metrics(), epochsDone, columns));
  }

  /**
   * The rows of a metrics.csv up to {@code epochsDone}. A line that cannot be read is skipped with
   * a warning that names it: the checkpoint holds the same rows, and a resumed run rewrites the
   * file from there ({@link #restore}).
   */
  private static List<EpochMetrics> readMetrics(Path csv, int epochsDone, Columns columns) throws IOException {
    List<EpochMetrics> out = new ArrayList<>();
    if (!Files.exists(csv)) return out;
    String text = new String(Files.readAllBytes(csv), StandardCharsets.UTF_8);
    String[] lines = text.split("\n", -1);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i].strip();
      if (line.isEmpty() || (i == 0 && line.startsWith("epoch"))) continue;
      try {
        EpochMetrics r = columns.parse(line);
        if (r.epoch() <= epochsDone) out.add(r);
      } catch (IllegalArgumentException e) {
        log.warn("{} line {} is not a metrics row ({}); it is skipped", csv, i + 1, e.getMessage());
      }
    }
    return out;
  }

  /**
   * Makes the rows those a checkpoint committed, the rows of epochs 1 to its epochs done, and
   * rewrites metrics.csv (and redraws the plot) where they differ: a run stopped between its checkpoint
   * and its metrics row, or whose metrics.csv was damaged, gets the rows back on resume.
   */
  public void restore(List<EpochMetrics> committed) throws IOException {
    byte[] before = Files.exists(metrics()) ? Files.readAllBytes(metrics()) : new byte[0];
    rows.clear();
    rows.addAll(committed);
    if (!java.util.Arrays.equals(csv().getBytes(StandardCharsets.UTF_8), before)) {
      log.info("{}: rewritten from the checkpoint's {} rows", metrics(), committed.size());
      write();
    }
  }

  private String csv() {
    StringBuilder sb = new StringBuilder(columns.header()).append('\n');
    for (EpochMetrics r : rows) sb.append(columns.csv(r)).append('\n');
    return sb.toString();
  }

  private void write() throws IOException {
    AtomicFiles.write(metrics(), csv().getBytes(StandardCharsets.UTF_8));
    if (plot == null) return;
    try {
      plot.draw(folder, rows());
    } catch (IOException | RuntimeException e) { // metrics.csv holds the figures; the run goes on
      if (!plotFailed) log.warn("{}: the plot was not drawn ({}); metrics.csv has the same figures", folder, e.toString());
      plotFailed = true;
    }
  }

  /**
   * Draws {@code plot} after each write of metrics.csv from now on; null draws nothing. A plot that
   * fails is said once at WARN and does not stop the run.
   */
  public RunFolder plot(Plot plot) {
    this.plot = plot;
    return this;
  }

  public Path folder() {
    return folder;
  }

  /** The columns of its metrics.csv. */
  public Columns columns() {
    return columns;
  }

  public Path metrics() {
    return folder.resolve("metrics.csv");
  }

  public List<EpochMetrics> rows() {
    return List.copyOf(rows);
  }

  /** Adds an epoch's row and rewrites metrics.csv (and redraws the plot). */
  public void add(EpochMetrics row) throws IOException {
    rows.add(row);
    write();
  }

  /** True when {@code folder} holds a run already: a checkpoint or metrics. */
  public static boolean holdsRun(Path folder) {
    return Files.exists(folder.resolve("metrics.csv")) || AtomicFiles.readable(folder.resolve("checkpoint")) != null;
  }

  /**
   * A new, unique folder {@code parent/<timestamp>}, with {@code -2}, {@code -3}, ... when runs
   * start within the same second; created here, so two runs never get the same one.
   */
  public static Path createUnique(Path parent, String timestamp) throws IOException {
    Files.createDirectories(parent);
    for (int n = 1; ; n++) {
      Path candidate = parent.resolve(n == 1 ? timestamp : timestamp + "-" + n);
      try {
        return Files.createDirectory(candidate);
      } catch (FileAlreadyExistsException e) {
        // taken: try the next suffix
      }
    }
  }

  /**
   * Releases the lock and empties {@code .lock}, so that it names no process that has ended (the
   * file stays: deleting it would let two writers lock two different files). The folder and what
   * is in it stay.
   */
  @Override
  public void close() throws IOException {
    if (lock.isValid()) {
      lockFile.truncate(0);
      lock.release();
    }
    lockFile.close();
  }
}
