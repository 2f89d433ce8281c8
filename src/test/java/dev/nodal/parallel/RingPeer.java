package dev.nodal.parallel;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;

/**
 * Rank 1 of a two-rank ring in a JVM of its own, for tests that stop or kill a process: it
 * listens, prints {@code PORT n}, joins rank 0 at the port it was given, and adds 2 to every sum
 * until the ring fails.
 */
public final class RingPeer {
  private RingPeer() {}

  public static void main(String[] args) throws Exception {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    int first = Integer.parseInt(args[0]);
    byte[] key = HexFormat.of().parseHex(args[1]);
    ServerSocket server = RingCollective.listen(loopback);
    System.out.println("PORT " + server.getLocalPort());
    System.out.flush();
    List<InetSocketAddress> addresses = List.of(new InetSocketAddress(loopback, first),
        new InetSocketAddress(loopback, server.getLocalPort()));
    try (RingCollective ring = RingCollective.join(1, addresses, server, Duration.ofSeconds(60), Duration.ofSeconds(1), key)) {
      while (true) {
        float[] x = {2};
        ring.allReduceSum(x);
      }
    } catch (CollectiveException e) {
      System.exit(0);
    }
  }

  /** Starts a peer that joins rank 0 listening on {@code port} with {@code key}. */
  static Process start(int port, byte[] key) throws IOException {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), RingPeer.class.getName(), Integer.toString(port), HexFormat.of().formatHex(key))
        .redirectError(ProcessBuilder.Redirect.DISCARD).start();
  }

  /** The port the peer listens on, from its first line; the rest of its output is drained. */
  static int port(Process peer) throws IOException {
    BufferedReader out = new BufferedReader(new InputStreamReader(peer.getInputStream(), StandardCharsets.UTF_8));
    String line = out.readLine();
    if (line == null || !line.startsWith("PORT ")) throw new IOException("the ring peer said " + line);
    Thread drain = new Thread(() -> {
      try {
        while (out.readLine() != null) {
          // nothing to keep
        }
      } catch (IOException ignored) {
        // the peer is gone
      }
    });
    drain.setDaemon(true);
    drain.start();
    return Integer.parseInt(line.substring(5).strip());
  }
}
