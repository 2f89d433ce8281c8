package dev.nodal.spark;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileContext;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Options;

/**
 * A run folder on a Hadoop file system ({@code hdfs://…}, {@code s3a://…}, {@code file:///…}),
 * written through a local copy on the driver: the trainer writes the local copy as it writes any
 * run folder, and {@link #publish} sends what changed after each epoch.
 *
 * <p>No checkpoint there is ever half-written. The checkpoint is sent to a temporary folder,
 * renamed {@code checkpoint.new} once whole; then {@code checkpoint} becomes {@code checkpoint.old},
 * {@code checkpoint.new} becomes {@code checkpoint}, and {@code checkpoint.old} is deleted. A
 * driver stopped at any point leaves a whole copy under one of those names; the next
 * {@link #publish} first finishes a swap that was cut short, and {@link #fetch} brings every copy
 * there is, from which {@link dev.nodal.io.Checkpoint#load} takes the newest whole one, as it does
 * on a local disk. metrics.csv and curves.png go to a temporary name and are renamed over the old
 * file: atomic where the file system's rename is (HDFS, a local disk); on object stores (S3, GCS)
 * a rename with overwrite is a delete and a copy, and a driver stopped in between leaves the
 * checkpoint, which holds the same rows, without metrics.csv until the next epoch or resume.
 */
final class HadoopRunFolder implements AutoCloseable {
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(HadoopRunFolder.class);
  /** The copies of a checkpoint, newest first, as {@link dev.nodal.io.AtomicFiles#copies} names them. */
  private static final List<String> COPIES = List.of("checkpoint.new", "checkpoint", "checkpoint.old");
  /** The run's files beside its checkpoint. */
  private static final List<String> FILES = List.of("metrics.csv", "curves.png");

  private final String uri;
  private final org.apache.hadoop.fs.Path folder;
  private final FileSystem fs;
  private final FileContext files;
  private final Path local;
  /** False once a publish failed: the local copy is then kept, and named, for the user. */
  private boolean sent = true;
  /** Whether a publish has cleared what an earlier, stopped driver left (a swap cut short, temporaries). */
  private boolean tidied;

  /** The run folder {@code uri} (made when first published), with a new local copy. */
  HadoopRunFolder(String uri, Configuration conf) throws IOException {
    this.uri = uri;
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(uri);
    // A file system of its own (not the cache's, which Spark shares), writing no .crc files beside a
    // local folder's: the checkpoint's manifest already holds every file's SHA-256.
    this.fs = FileSystem.newInstance(path.toUri(), conf);
    try {
      fs.setWriteChecksum(false);
      this.folder = fs.makeQualified(path);
      this.files = FileContext.getFileContext(folder.toUri(), conf);
      this.local = Files.createTempDirectory("nodal-run-");
    } catch (IOException | RuntimeException e) {
      fs.close();
      throw e;
    }
  }

  /** The local copy, which the trainer writes. */
  Path local() {
    return local;
  }

  @Override
  public String toString() {
    return folder.toString();
  }

  /**
   * Brings the run's checkpoint copies and files into the local copy, to resume from; false when
   * the folder holds no checkpoint.
   */
  boolean fetch() throws IOException {
    boolean found = false;
    for (String copy : COPIES) {
      org.apache.hadoop.fs.Path from = new org.apache.hadoop.fs.Path(folder, copy);
      if (!fs.isDirectory(from)) continue;
      Path to = Files.createDirectories(local.resolve(copy));
      for (FileStatus f : fs.listStatus(from)) {
        if (f.isFile()) download(f.getPath(), to.resolve(f.getPath().getName()));
      }
      found = true;
    }
    for (String name : FILES) {
      org.apache.hadoop.fs.Path from = new org.apache.hadoop.fs.Path(folder, name);
      if (fs.isFile(from)) download(from, local.resolve(name));
    }
    return found;
  }

  /** Sends the local copy's checkpoint, then its metrics.csv and curves.png, each replaced whole. */
  void publish() throws IOException {
    sent = false;
    if (!tidied) {
      fs.mkdirs(folder);
      finishSwap(); // what a driver stopped in the middle of a swap left
    }
    Path checkpoint = local.resolve("checkpoint");
    if (Files.isDirectory(checkpoint)) {
      org.apache.hadoop.fs.Path sending = child(".checkpoint." + UUID.randomUUID() + ".tmp");
      fs.mkdirs(sending);
      try (var list = Files.list(checkpoint)) {
        for (Path f : list.sorted().toList()) upload(f, new org.apache.hadoop.fs.Path(sending, f.getFileName().toString()));
      }
      rename(sending, child("checkpoint.new")); // whole from here on
      finishSwap();
    }
    for (String name : FILES) {
      Path f = local.resolve(name);
      if (!Files.isRegularFile(f)) continue;
      org.apache.hadoop.fs.Path temporary = child("." + name + "." + UUID.randomUUID() + ".tmp");
      upload(f, temporary);
      files.rename(temporary, child(name), Options.Rename.OVERWRITE);
    }
    if (!tidied) {
      for (FileStatus f : fs.listStatus(folder)) { // what a driver stopped while sending left
        String name = f.getPath().getName();
        if (name.startsWith(".") && name.endsWith(".tmp")) fs.delete(f.getPath(), true);
      }
      // This run renames its own temporaries, and a failed publish ends it: once is enough.
      tidied = true;
    }
    sent = true;
  }

  /**
   * Makes a whole {@code checkpoint.new} the checkpoint: the current one becomes
   * {@code checkpoint.old} until the rename is done. Also finishes a swap that a stopped driver
   * left at any step.
   */
  private void finishSwap() throws IOException {
    org.apache.hadoop.fs.Path fresh = child("checkpoint.new"), now = child("checkpoint"), old = child("checkpoint.old");
    if (fs.exists(fresh)) {
      if (fs.exists(now)) {
        fs.delete(old, true);
        rename(now, old);
      }
      rename(fresh, now);
    }
    if (fs.exists(now)) fs.delete(old, true);
  }

  private org.apache.hadoop.fs.Path child(String name) {
    return new org.apache.hadoop.fs.Path(folder, name);
  }

  private void rename(org.apache.hadoop.fs.Path from, org.apache.hadoop.fs.Path to) throws IOException {
    if (!fs.rename(from, to)) throw new IOException("cannot rename " + from + " to " + to);
  }

  private void upload(Path from, org.apache.hadoop.fs.Path to) throws IOException {
    try (InputStream in = Files.newInputStream(from); OutputStream out = fs.create(to, true)) {
      in.transferTo(out);
    }
  }

  private void download(org.apache.hadoop.fs.Path from, Path to) throws IOException {
    try (InputStream in = fs.open(from)) {
      Files.copy(in, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }
  }

  /** Deletes the local copy, or keeps it with a warning that names it when the last publish failed. */
  @Override
  public void close() {
    try {
      fs.close();
    } catch (IOException e) {
      log.warn("{}: closing its file system: {}", uri, e.toString());
    }
    if (!sent) {
      log.warn("{} was not brought up to date; the run's newest files are in {}", uri, local);
      return;
    }
    try (var walk = Files.walk(local)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    } catch (IOException | UncheckedIOException e) {
      log.warn("{}: the local copy of {} was not removed: {}", local, uri, e.toString());
    }
  }
}
