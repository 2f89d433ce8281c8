package dev.nodal.testkit;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Files that are not regular files, made in a test's own folder: a character device (as
 * {@code /dev/null}: needs root and a file system that allows device nodes), a FIFO, a socket.
 * Each maker returns null when this machine cannot make one, after printing why.
 */
public final class SpecialFiles {
  private SpecialFiles() {}

  /** A character device with {@code /dev/null}'s numbers (1, 3), or null. */
  public static Path charDevice(Path p) {
    return tool(p, "mknod", p.toString(), "c", "1", "3");
  }

  /** A FIFO (named pipe), or null. */
  public static Path fifo(Path p) {
    return tool(p, "mkfifo", p.toString());
  }

  /** A Unix-domain socket, bound and closed again (the socket file stays), or null. */
  public static Path socket(Path p) {
    try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      s.bind(UnixDomainSocketAddress.of(p));
      return p;
    } catch (IOException | UnsupportedOperationException e) {
      System.out.println("skipped: cannot make a socket at " + p + ": " + e);
      return null;
    }
  }

  /**
   * What a file is and holds, without following a link or opening a device: its type bits and
   * device numbers, a link's destination, a regular file's bytes, a folder's names.
   */
  public static String identity(Path p) throws IOException {
    if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) return "missing";
    int mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
    long rdev = (Long) Files.getAttribute(p, "unix:rdev", LinkOption.NOFOLLOW_LINKS);
    String what = "type " + Integer.toOctalString(mode & 0170000) + " rdev " + rdev;
    if (Files.isSymbolicLink(p)) return what + " -> " + Files.readSymbolicLink(p);
    if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) return what + " bytes " + Files.readString(p);
    if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
      try (var names = Files.list(p)) {
        return what + " holding " + names.map(q -> q.getFileName().toString()).sorted().toList();
      }
    }
    return what;
  }

  private static Path tool(Path p, String... command) {
    try {
      Process proc = new ProcessBuilder(command).redirectErrorStream(true).start();
      if (!proc.waitFor(30, TimeUnit.SECONDS)) {
        proc.destroyForcibly();
        System.out.println("skipped: " + command[0] + " did not end");
        return null;
      }
      String out = new String(proc.getInputStream().readAllBytes()).strip();
      if (proc.exitValue() != 0) {
        System.out.println("skipped: " + String.join(" ", command) + " failed (" + out + ")");
        return null;
      }
      return p;
    } catch (IOException e) {
      System.out.println("skipped: cannot run " + command[0] + ": " + e.getMessage());
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }
}
