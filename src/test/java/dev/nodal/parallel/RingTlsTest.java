package dev.nodal.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The ring over TLS: sums come out as over plain TCP; the bytes on the wire do not show the
 * data (they do without TLS); a rank without TLS is refused; and a program in the middle that
 * terminates TLS on both sides with keys of its own, passing the handshake's bytes on unchanged,
 * is refused: the accepting rank finds the proof wrong, and neither rank joins.
 */
class RingTlsTest {
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final byte[] KEY = RingCollective.newKey();
  /** A value whose four bytes stand out on the wire, repeated. */
  private static final float MARK = 1234.5f;

  /** Joins {@code size} ranks, rank i listening on {@code servers[i]}, reached at {@code addresses[i]}. */
  private static List<Future<RingCollective>> join(ExecutorService pool, List<ServerSocket> servers,
      List<InetSocketAddress> addresses, Duration timeout, boolean... encrypt) {
    List<Future<RingCollective>> joins = new ArrayList<>();
    for (int r = 0; r < servers.size(); r++) {
      int rank = r;
      joins.add(pool.submit(() -> RingCollective.join(rank, addresses, servers.get(rank), timeout, timeout, KEY,
          encrypt[rank])));
    }
    return joins;
  }

  private static List<ServerSocket> servers(int size) throws IOException {
    List<ServerSocket> out = new ArrayList<>();
    for (int r = 0; r < size; r++) out.add(RingCollective.listen(LOOPBACK));
    return out;
  }

  private static InetSocketAddress at(ServerSocket s) {
    return new InetSocketAddress(LOOPBACK, s.getLocalPort());
  }

  @Test
  void anEncryptedRingSumsAsAPlainOne() throws Exception {
    int size = 3, length = 2 * RingCollective.CHUNK + 7;
    List<ServerSocket> servers = servers(size);
    List<InetSocketAddress> addresses = servers.stream().map(RingTlsTest::at).toList();
    ExecutorService pool = Executors.newFixedThreadPool(size);
    try {
      List<Collective> group = new ArrayList<>();
      for (Future<RingCollective> f : join(pool, servers, addresses, TIMEOUT, true, true, true)) group.add(f.get());
      List<float[]> results = CollectiveTest.onEveryRank(group, c -> {
        float[] x = CollectiveTest.data(c.rank(), length);
        c.allReduceSum(x);
        return x;
      });
      List<float[]> plain = CollectiveTest.onEveryRank(CollectiveTest.ring(size, TIMEOUT), c -> {
        float[] x = CollectiveTest.data(c.rank(), length);
        c.allReduceSum(x);
        return x;
      });
      for (int r = 0; r < size; r++) assertArrayEquals(plain.get(r), results.get(r), "rank " + r);
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void theWireShowsTheDataOnlyWithoutTls() throws Exception {
    assertTrue(contains(wireFromRank0(false), MARK), "the plain ring's bytes show the data");
    assertTrue(!contains(wireFromRank0(true), MARK), "the encrypted ring's bytes do not");
  }

  /** What rank 0 sent rank 1 in a sum of marks, through a relay that records it. */
  private static byte[] wireFromRank0(boolean encrypt) throws Exception {
    List<ServerSocket> servers = servers(2);
    try (Relay relay = new Relay(at(servers.get(1)), null)) {
      List<InetSocketAddress> addresses = List.of(at(servers.get(0)), relay.address());
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Collective> group = new ArrayList<>();
        for (Future<RingCollective> f : join(pool, servers, addresses, TIMEOUT, encrypt, encrypt)) group.add(f.get());
        List<float[]> sums = CollectiveTest.onEveryRank(group, c -> {
          float[] x = new float[1000];
          Arrays.fill(x, MARK);
          c.allReduceSum(x);
          return x;
        });
        assertEquals(2 * MARK, sums.get(1)[0]);
      } finally {
        pool.shutdownNow();
      }
      return relay.forwarded();
    }
  }

  private static boolean contains(byte[] wire, float value) {
    byte[] four = ByteBuffer.allocate(16).order(RingCollective.WIRE_ORDER).putFloat(value).putFloat(value)
        .putFloat(value).putFloat(value).array();
    for (int i = 0; i + four.length <= wire.length; i++) {
      if (Arrays.equals(wire, i, i + four.length, four, 0, four.length)) return true;
    }
    return false;
  }

  @Test
  void aRankWithoutTlsIsRefused() throws Exception {
    List<ServerSocket> servers = servers(2);
    List<InetSocketAddress> addresses = servers.stream().map(RingTlsTest::at).toList();
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      List<Future<RingCollective>> joins = join(pool, servers, addresses, Duration.ofSeconds(3), true, false);
      for (Future<RingCollective> f : joins) {
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        assertTrue(e.getCause() instanceof CollectiveException, String.valueOf(e.getCause()));
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void aProgramInTheMiddleIsRefusedByBothRanks() throws Exception {
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    Logger logger = (Logger) LoggerFactory.getLogger(RingCollective.class);
    logger.addAppender(seen);
    List<ServerSocket> servers = servers(2);
    // The middle ends TLS from rank 0 and opens TLS of its own to rank 1, passing bytes on unchanged.
    try (Relay middle = new Relay(at(servers.get(1)), RingTls.create(new SecureRandom()))) {
      List<InetSocketAddress> addresses = List.of(at(servers.get(0)), middle.address());
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Future<RingCollective>> joins = join(pool, servers, addresses, Duration.ofSeconds(4), true, true);
        for (Future<RingCollective> f : joins) assertThrows(ExecutionException.class, f::get);
      } finally {
        pool.shutdownNow();
      }
      assertTrue(seen.list.stream().anyMatch(e -> e.getFormattedMessage().contains("rank 1: refused a ring connection")
          && e.getFormattedMessage().contains("or a program in the middle holds the connection")),
          "rank 1 refused the middle's connection: " + seen.list);
    } finally {
      logger.detachAppender(seen);
    }
  }

  /**
   * Takes one connection and passes its bytes to {@code target} and back, keeping what went
   * forward; with {@code tls}, it ends the TLS of the connection it takes and opens its own to
   * the target, with its own key, as a program in the middle would.
   */
  private static final class Relay implements AutoCloseable {
    private final ServerSocket server = new ServerSocket(0, 4, LOOPBACK);
    private final ByteArrayOutputStream forward = new ByteArrayOutputStream();
    private final ExecutorService threads = Executors.newFixedThreadPool(3);
    private final List<Socket> sockets = new java.util.concurrent.CopyOnWriteArrayList<>();

    Relay(InetSocketAddress target, RingTls tls) throws IOException {
      threads.submit(() -> {
        Socket in = server.accept(), out = new Socket(target.getAddress(), target.getPort());
        sockets.add(in);
        sockets.add(out);
        if (tls != null) {
          in = tls.server(in);
          out = tls.client(out);
        }
        Socket from = in, to = out;
        threads.submit(() -> pump(from.getInputStream(), to.getOutputStream(), forward));
        threads.submit(() -> pump(to.getInputStream(), from.getOutputStream(), null));
        return null;
      });
    }

    InetSocketAddress address() {
      return at(server);
    }

    byte[] forwarded() {
      synchronized (forward) {
        return forward.toByteArray();
      }
    }

    private static Void pump(InputStream in, OutputStream out, ByteArrayOutputStream keep) throws IOException {
      byte[] buffer = new byte[1 << 16];
      for (int n; (n = in.read(buffer)) > 0; ) {
        if (keep != null) {
          synchronized (keep) {
            keep.write(buffer, 0, n);
          }
        }
        out.write(buffer, 0, n);
        out.flush();
      }
      return null;
    }

    @Override
    public void close() throws IOException {
      threads.shutdownNow();
      server.close();
      for (Socket s : sockets) s.close();
    }
  }
}
