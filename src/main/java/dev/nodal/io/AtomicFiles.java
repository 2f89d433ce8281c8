package dev.nodal.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Writes that never leave a partial result: each file goes to a temporary name, is flushed to
 * disk, then renamed over its target, and the folder is flushed so that the rename survives a
 * crash.
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  public static void write(Path target, byte[] bytes) throws IOException {
    Path dir = target.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    try {
      readableByAll(tmp, "rw-r--r--");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
        ch.write(java.nio.ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /** A folder's contents as a whole: the writer fills a fresh folder, which then replaces {@code target}. */
  public interface FolderWriter {
    void write(Path folder) throws IOException;
  }

  /**
   * Fills a temporary sibling folder, flushes it, then swaps it in: {@code target} is renamed to
   * {@code target.old}, the new folder to {@code target}, and the old one is deleted. A crash
   * between the two renames leaves {@code target.old}, which {@link #readable} falls back to.
   */
  public static void replaceFolder(Path target, FolderWriter writer) throws IOException {
    Path parent = target.toAbsolutePath().getParent();
    Files.createDirectories(parent);
    Path fresh = Files.createTempDirectory(parent, "." + target.getFileName() + ".");
    Path old = parent.resolve(target.getFileName() + ".old");
    try {
      readableByAll(fresh, "rwxr-xr-x");
      writer.write(fresh);
      try (Stream<Path> files = Files.list(fresh)) {
        for (Path f : files.toList()) {
          try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.force(true);
          }
        }
      }
      syncDirectory(fresh);
      deleteTree(old);
      if (Files.exists(target)) Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
      Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(parent);
      deleteTree(old);
    } finally {
      deleteTree(fresh);
    }
  }

  /** {@code folder} if it exists, else the {@code .old} copy a crash mid-swap left behind, else null. */
  public static Path readable(Path folder) {
    if (Files.isDirectory(folder)) return folder;
    Path old = folder.resolveSibling(folder.getFileName() + ".old");
    return Files.isDirectory(old) ? old : null;
  }

  /** Temporary files are created private; results are as readable as any other file. */
  private static void readableByAll(Path p, String permissions) throws IOException {
    if (p.getFileSystem().supportedFileAttributeViews().contains("posix")) {
      Files.setPosixFilePermissions(p, java.nio.file.attribute.PosixFilePermissions.fromString(permissions));
    }
  }

  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException e) {
      // Some file systems cannot open a folder for syncing; the rename is still atomic there.
    }
  }

  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p)) return;
    try (Stream<Path> all = Files.walk(p)) {
      for (Path q : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
    }
  }
}
