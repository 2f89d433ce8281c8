package dev.nodal.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * Writes that never leave a partial result: each file goes to a temporary name, is flushed to
 * disk, then renamed over its target, and the folder is flushed so that the rename survives a
 * crash.
 *
 * <p>Only what Nodal owns is replaced. {@link #write} replaces a regular file or creates a missing
 * one; {@link #replaceFolder} replaces a folder or creates a missing one. Anything else at the
 * target (a device such as {@code /dev/null}, a FIFO, a socket, a folder where a file belongs, a
 * file where a folder belongs) is refused with an {@link IOException} that names the path and
 * what is there, before anything is written. A symbolic link at the target is refused too: it is
 * neither followed (it may lead out of the folder the user named) nor replaced (that would
 * silently cut a link the user made); the user names the file itself or removes the link. Links
 * among the folders above the target are followed, as for any path the user gives.
 *
 * <p>The target is checked before writing and again just before the rename; the rename itself
 * ({@code rename(2)}) replaces whatever is at the name then, never following a link. Something
 * another process puts at the target between that last check and the rename is replaced: a race
 * that no command line can set up, and that Java offers no way to close
 * ({@code renameat2}'s flags are out of its reach).
 */
public final class AtomicFiles {
  private AtomicFiles() {}

  /**
   * Writes {@code bytes} to {@code target} atomically, creating its folder when missing.
   *
   * @throws IOException naming the path when {@code target} exists and is not a regular file, or
   *     when its folder cannot be made
   */
  public static void write(Path target, byte[] bytes) throws IOException {
    checkReplaceable(target);
    Path dir = target.toAbsolutePath().getParent();
    createFolder(dir, target);
    // createTempFile opens with O_CREAT | O_EXCL: it never reuses, or follows, anything already there.
    Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
    try {
      readableByAll(tmp, "rw-r--r--");
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING,
          LinkOption.NOFOLLOW_LINKS)) {
        ch.write(java.nio.ByteBuffer.wrap(bytes));
        ch.force(true);
      }
      checkReplaceable(target); // again, so that only the rename itself is left open to a race
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      syncDirectory(dir);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * Refuses, without writing or creating anything, a {@code target} that {@link #write} would
   * refuse: one that exists and is not a regular file, or whose folder is a file. Commands call
   * it before long work whose result goes there.
   *
   * @throws IOException naming the path and what is there
   */
  public static void checkReplaceable(Path target) throws IOException {
    checkParents(target, "write");
    String kind = kind(target);
    if (kind != null && !kind.equals(REGULAR)) {
      throw new IOException("will not write " + target + ": it is " + kind + (kind.equals(LINK) ? linkTarget(target) : "")
          + "; only a regular file (or a missing one) is replaced" + (kind.equals(LINK)
          ? " and a link is never written through: name the file itself, or remove the link" : ": name a file"));
    }
  }

  /** Refuses a {@code target} below something that is not a folder; missing folders are fine (they are made). */
  private static void checkParents(Path target, String verb) throws IOException {
    for (Path d = target.toAbsolutePath().getParent(); d != null; d = d.getParent()) {
      if (!Files.exists(d)) continue;
      if (!Files.isDirectory(d)) throw new IOException("will not " + verb + " " + target + ": " + d + " is not a folder");
      return;
    }
  }

  private static final String REGULAR = "a regular file", LINK = "a symbolic link", FOLDER = "a folder";

  /** What is at {@code p}, its last element not followed if a link; null when nothing is. */
  static String kind(Path p) throws IOException {
    BasicFileAttributes a;
    try {
      a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
    } catch (NoSuchFileException e) {
      return null;
    }
    if (a.isRegularFile()) return REGULAR;
    if (a.isSymbolicLink()) return LINK;
    if (a.isDirectory()) return FOLDER;
    try {
      int type = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS) & 0170000;
      switch (type) {
        case 0020000: return "a character device";
        case 0060000: return "a block device";
        case 0010000: return "a FIFO (named pipe)";
        case 0140000: return "a socket";
        default: break;
      }
    } catch (UnsupportedOperationException | IllegalArgumentException e) {
      // no unix view on this file system: the general words below
    }
    return "not a regular file (a device, FIFO or socket)";
  }

  private static String linkTarget(Path link) {
    try {
      return " (to " + Files.readSymbolicLink(link) + ")";
    } catch (IOException | UnsupportedOperationException e) {
      return "";
    }
  }

  /** Creates {@code dir}, the folder of {@code target}, with an error that names both when it cannot. */
  private static void createFolder(Path dir, Path target) throws IOException {
    try {
      Files.createDirectories(dir);
    } catch (FileAlreadyExistsException e) {
      throw new IOException("will not write " + target + ": " + e.getFile() + " is not a folder", e);
    } catch (IOException e) {
      throw new IOException("cannot create the folder " + dir + " for " + target + ": " + e.getMessage(), e);
    }
  }

  /** A folder's contents as a whole: the writer fills a fresh folder, which then replaces {@code target}. */
  public interface FolderWriter {
    void write(Path folder) throws IOException;
  }

  /**
   * Replaces {@code target} with a folder that {@code writer} fills, so that a crash at any
   * instant, or several crashes in a row, leaves a complete folder to read. The states, beside
   * {@code target} ("final"):
   *
   * <ul>
   *   <li>{@code .target.tmp-*}: being written; never read, deleted by {@link #recover};
   *   <li>{@code target.new}: complete and flushed, the newest; read first;
   *   <li>{@code target.old}: complete, the one before; read only when neither final nor new exists.
   * </ul>
   *
   * Steps, each a rename (atomic) or the deletion of something no reader needs: recover; write
   * and flush a tmp folder; rename it to new; rename final to old; rename new to final; delete old.
   *
   * @throws IOException naming the path, before anything is written, when {@code target}, its
   *     {@code .new} or its {@code .old} exists and is not a folder (a symbolic link included)
   */
  public static void replaceFolder(Path target, FolderWriter writer) throws IOException {
    checkFolders(target);
    Path parent = target.toAbsolutePath().getParent();
    createFolder(parent, target);
    recover(target, false);
    Path tmp = Files.createTempDirectory(parent, "." + target.getFileName() + ".tmp-");
    try {
      readableByAll(tmp, "rwxr-xr-x");
      writer.write(tmp);
      try (Stream<Path> files = Files.list(tmp)) {
        for (Path f : files.toList()) {
          try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            ch.force(true);
          }
        }
      }
      syncDirectory(tmp);
      Files.move(tmp, sibling(target, ".new"), StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(parent);
    } finally {
      deleteTree(tmp);
    }
    recover(target); // swaps new in, then deletes old
  }

  /**
   * Finishes whatever a crash interrupted, so that only {@code target} remains: deletes
   * {@code .target.tmp-*}; moves a complete {@code target.new} in (moving the current
   * {@code target} to {@code target.old} first); moves {@code target.old} back when it is all
   * there is; deletes {@code target.old} once {@code target} exists. Safe to interrupt at any
   * point and to run again. Touches nothing, and throws, when one of the three is not a folder.
   */
  public static void recover(Path target) throws IOException {
    recover(target, true);
  }

  /**
   * {@link #recover}, deleting {@code target.old} at the end only when {@code dropOld}. A save
   * keeps it until its own copy is complete: the folder in place may be one that a reader passed
   * over as damaged, and the older copy is then the only whole one.
   */
  private static void recover(Path target, boolean dropOld) throws IOException {
    Path parent = target.toAbsolutePath().getParent();
    if (!Files.isDirectory(parent)) return;
    checkFolders(target);
    String prefix = "." + target.getFileName() + ".tmp-";
    try (Stream<Path> all = Files.list(parent)) {
      for (Path p : all.filter(p -> p.getFileName().toString().startsWith(prefix)).toList()) deleteTree(p);
    }
    Path fresh = sibling(target, ".new"), old = sibling(target, ".old");
    if (Files.isDirectory(fresh, LinkOption.NOFOLLOW_LINKS)) {
      if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
        deleteTree(old); // final and new are both complete: old is not needed
        Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
        syncDirectory(parent);
      }
      Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(parent);
    }
    if (!Files.exists(target, LinkOption.NOFOLLOW_LINKS) && Files.isDirectory(old, LinkOption.NOFOLLOW_LINKS)) {
      Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
      syncDirectory(parent);
    }
    if (dropOld && Files.exists(target, LinkOption.NOFOLLOW_LINKS)) deleteTree(old);
  }

  /** Refuses a {@code target}, {@code target.new} or {@code target.old} that exists and is not a folder. */
  private static void checkFolders(Path target) throws IOException {
    checkParents(target, "replace");
    for (Path p : new Path[] {target, sibling(target, ".new"), sibling(target, ".old")}) {
      String kind = kind(p);
      if (kind != null && !kind.equals(FOLDER)) {
        throw new IOException("will not replace " + p + ": it is " + kind + (kind.equals(LINK) ? linkTarget(p) : "")
            + "; only a folder (or a missing one) is replaced there" + (kind.equals(LINK)
            ? " and a link is never followed: remove the link, or choose another folder" : ": move it away"));
      }
    }
  }

  /**
   * The complete folder to read for {@code folder}, without changing anything: its
   * {@code .new} copy (complete, newest) when a crash left one, else the folder itself, else its
   * {@code .old} copy; null when there is none.
   */
  public static Path readable(Path folder) {
    List<Path> copies = copies(folder);
    return copies.isEmpty() ? null : copies.get(0);
  }

  /**
   * The complete copies of {@code folder} that exist now, newest first: its {@code .new} copy, the
   * folder itself, its {@code .old} copy. A reader that finds the newest damaged may fall back to
   * the next.
   */
  public static List<Path> copies(Path folder) {
    List<Path> out = new ArrayList<>();
    for (Path p : List.of(sibling(folder, ".new"), folder.toAbsolutePath(), sibling(folder, ".old"))) {
      if (Files.isDirectory(p)) out.add(p);
    }
    return out;
  }

  /**
   * The files {@code names} of {@code folder} as they are in one copy of it, each read whole (a
   * name the copy lacks is absent from the map); null when the folder was renamed or removed
   * during the read, so that the caller can look again. Files are read through one open handle
   * on the folder where the platform allows it (Linux, macOS), so that all of them come from the
   * folder as it was opened, even if a writer swaps another copy in under its name meanwhile:
   * complete copies are never changed in place, only renamed and deleted. Elsewhere they are
   * read by name, and the folder's {@link #identity} before and after decides.
   */
  public static Map<String, byte[]> readWhole(Path folder, List<String> names) throws IOException {
    Map<String, byte[]> files = new LinkedHashMap<>();
    try (DirectoryStream<Path> dir = Files.newDirectoryStream(folder)) {
      if (dir instanceof SecureDirectoryStream<Path> open) {
        for (String name : names) {
          try (SeekableByteChannel ch = open.newByteChannel(folder.getFileSystem().getPath(name),
              Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))) {
            files.put(name, readAll(ch));
          } catch (NoSuchFileException e) {
            // absent from this copy, or the copy is being deleted: decided below
          }
        }
        // The open handle keeps the folder's identity from being reused: equal means it is still there.
        Object opened = open.getFileAttributeView(BasicFileAttributeView.class).readAttributes().fileKey();
        if (files.size() < names.size() && (opened == null || !opened.equals(identity(folder)))) return null;
        return files;
      }
    } catch (NoSuchFileException | NotDirectoryException e) {
      return null;
    }
    Object before = identity(folder);
    for (String name : names) {
      try {
        files.put(name, Files.readAllBytes(folder.resolve(name)));
      } catch (NoSuchFileException e) {
        // absent, or being deleted: decided below
      }
    }
    Object after = identity(folder);
    return before != null && before.equals(after) ? files : null;
  }

  private static byte[] readAll(SeekableByteChannel ch) throws IOException {
    long size = ch.size();
    if (size > Integer.MAX_VALUE - 8) throw new IOException("larger than 2 GiB");
    ByteBuffer buf = ByteBuffer.allocate((int) size);
    while (buf.hasRemaining() && ch.read(buf) >= 0) {
      // until full or at the end
    }
    if (buf.hasRemaining() || ch.read(ByteBuffer.allocate(1)) >= 0) throw new IOException("changed size while read");
    return buf.array();
  }

  /**
   * What identifies the folder {@code folder} names, through a symbolic link as an open handle
   * sees it (device and inode where there are such), or null when it does not exist; a folder
   * renamed over another has another identity. Where the file system has no such key, the
   * folder's creation and modification times stand in.
   */
  public static Object identity(Path folder) {
    try {
      BasicFileAttributes a = Files.readAttributes(folder, BasicFileAttributes.class);
      return a.fileKey() != null ? a.fileKey() : List.of(a.creationTime(), a.lastModifiedTime());
    } catch (IOException e) {
      return null;
    }
  }

  /** {@link #identity} of each folder, in order. */
  public static List<Object> identities(List<Path> folders) {
    List<Object> out = new ArrayList<>();
    for (Path p : folders) out.add(identity(p));
    return out;
  }

  private static Path sibling(Path target, String suffix) {
    return target.toAbsolutePath().resolveSibling(target.getFileName() + suffix);
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

  /** Deletes {@code p} and what is in it; a link is deleted, never followed. */
  private static void deleteTree(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return;
    try (Stream<Path> all = Files.walk(p)) {
      for (Path q : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
    }
  }
}
