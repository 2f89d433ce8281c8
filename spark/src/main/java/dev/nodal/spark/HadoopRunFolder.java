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
 * <p>Nothing there is ever half-written. Each file goes to a temporary name in the folder and is
 * renamed over the old one. The checkpoint goes whole to {@code checkpoint.new}, then
 * {@code checkpoint} becomes {@code checkpoint.old}, {@code checkpoint.new} becomes
 * {@code checkpoint}, and {@code checkpoint.old} is deleted: a driver stopped at any point leaves a
 * whole copy, and {@link #fetch} brings every copy there is, from which
 * {@link dev.nodal.io.Checkpoint#load} takes the newest whole one, as it does on a local disk.
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

  /** The run folder {@code uri} (made when first published), with a new local copy. */
  HadoopRunFolder(String uri, Configuration conf) throws IOException {
    this.uri = uri;
    org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(uri);
    // A file system of its own (not the cache's, which Spark shares), writing no .crc files beside a
    // local folder's: the checkpoint's manifest already holds every file's SHA-256.
    this.fs = FileSystem.newInstance(path.toUri(), conf);
    fs.setWriteChecksum(false);
    this.folder = fs.makeQualified(path);
    this.files = FileContext.getFileContext(folder.toUri(), conf);
    this.local = Files.createTempDirectory("nodal-run-");
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
    fs.mkdirs(folder);
    Path checkpoint = local.resolve("checkpoint");
    if (Files.isDirectory(checkpoint)) {
      org.apache.hadoop.fs.Path fresh = child("checkpoint.new"), now = child("checkpoint"), old = child("checkpoint.old");
      fs.delete(fresh, true); // a copy a stopped driver left half sent
      fs.mkdirs(fresh);
      try (var list = Files.list(checkpoint)) {
        for (Path f : list.sorted().toList()) upload(f, new org.apache.hadoop.fs.Path(fresh, f.getFileName().toString()));
      }
      fs.delete(old, true);
      if (fs.exists(now)) rename(now, old);
      rename(fresh, now);
      fs.delete(old, true);
    }
    for (String name : FILES) {
      Path f = local.resolve(name);
      if (!Files.isRegularFile(f)) continue;
      org.apache.hadoop.fs.Path temporary = child("." + name + "." + UUID.randomUUID() + ".tmp");
      upload(f, temporary);
      files.rename(temporary, child(name), Options.Rename.OVERWRITE);
    }
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

  /** Deletes the local copy. */
  @Override
  public void close() {
    try {
      fs.close();
    } catch (IOException e) {
      log.warn("{}: closing its file system: {}", uri, e.toString());
    }
    try (var walk = Files.walk(local)) {
      for (Path p : walk.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
    } catch (IOException | UncheckedIOException e) {
      log.warn("{}: the local copy of {} was not removed: {}", local, uri, e.toString());
    }
  }
}
