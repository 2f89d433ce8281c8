package dev.nodal.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/**
 * The ring's handshake: only ranks that hold the job's key, each in its place, join; forged
 * connections are refused and logged, and the sums come out as without them. (Before the
 * handshake, a program that connected first claiming rank 0 made rank 1's sum 1000002 instead of 3.)
 */
class RingAuthenticationTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  private static final InetAddress LOOPBACK = InetAddress.getLoopbackAddress();

  /** Two ranks' servers and addresses, the ranks not yet joined. */
  private record Pair(List<ServerSocket> servers, List<InetSocketAddress> addresses) {
    static Pair open() throws IOException {
      List<ServerSocket> servers = new ArrayList<>();
      List<InetSocketAddress> addresses = new ArrayList<>();
      for (int r = 0; r < 2; r++) {
        ServerSocket s = RingCollective.listen(LOOPBACK);
        servers.add(s);
        addresses.add(new InetSocketAddress(LOOPBACK, s.getLocalPort()));
      }
      return new Pair(servers, addresses);
    }

    /** Joins both ranks with their keys and sums {rank + 1} over them: 3 on each when all goes well. */
    float[] joinAndSum(byte[] key0, byte[] key1) throws Exception {
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        List<Future<Float>> sums = new ArrayList<>();
        for (int r = 0; r < 2; r++) {
          int rank = r;
          byte[] key = r == 0 ? key0 : key1;
          sums.add(pool.submit(() -> {
            try (Collective ring = RingCollective.join(rank, addresses, servers.get(rank), TIMEOUT, key)) {
              float[] x = {rank + 1};
              ring.allReduceSum(x);
              return x[0];
            }
          }));
        }
        return new float[] {sums.get(0).get(), sums.get(1).get()};
      } finally {
        pool.shutdownNow();
      }
    }
  }

  private static ListAppender<ILoggingEvent> watch() {
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    ((Logger) LoggerFactory.getLogger(RingCollective.class)).addAppender(seen);
    return seen;
  }

  private static void unwatch(ListAppender<ILoggingEvent> seen) {
    ((Logger) LoggerFactory.getLogger(RingCollective.class)).detachAppender(seen);
  }

  private static List<String> warnings(ListAppender<ILoggingEvent> seen) {
    return seen.list.stream().filter(e -> e.getLevel() == Level.WARN).map(ILoggingEvent::getFormattedMessage).toList();
  }

  /**
   * The pair joins and sums to 3 on each rank within one handshake's time and a margin, and a
   * warning that {@code refusal} accepts was logged for the connection ahead of it.
   */
  private static void assertTheRingFormsAfterRefusing(Pair p, ListAppender<ILoggingEvent> seen,
      java.util.function.Predicate<String> refusal) throws Exception {
    byte[] key = RingCollective.newKey();
    long t0 = System.nanoTime();
    assertArrayEquals(new float[] {3f, 3f}, p.joinAndSum(key, key));
    long ms = (System.nanoTime() - t0) / 1_000_000;
    assertTrue(ms < RingCollective.HANDSHAKE.toMillis() + 4000, ms + " ms");
    assertTrue(warnings(seen).stream().anyMatch(refusal), seen.list.toString());
  }

  /** The attack of the report: connect first, claim rank 0 in the old way (a bare int), send a large value. */
  @Test
  void aConnectionThatClaimsARankWithoutTheKeyIsRefusedAndTheSumIsUnchanged() throws Exception {
    Pair p = Pair.open();
    ListAppender<ILoggingEvent> seen = watch();
    try (Socket forged = new Socket(LOOPBACK, p.addresses().get(1).getPort())) {
      DataOutputStream out = new DataOutputStream(forged.getOutputStream());
      out.writeInt(0);
      for (int i = 0; i < 100; i++) out.writeFloat(1_000_000f);
      out.flush();
      byte[] key = RingCollective.newKey();
      assertArrayEquals(new float[] {3f, 3f}, p.joinAndSum(key, key));
      List<String> w = warnings(seen);
      assertEquals(1, w.size(), seen.list.toString());
      assertTrue(w.get(0).startsWith("rank 1: refused a ring connection from /127.0.0.1:" + forged.getLocalPort())
          && w.get(0).contains("it does not hold this ring's key"), w.get(0));
    } finally {
      unwatch(seen);
    }
  }

  /**
   * A peer with the key in the wrong place (it comes as rank 1 to rank 0, at rank 1's address) is
   * refused as well; it connects first and answers the challenge as a rank of the job would.
   */
  @Test
  void aKeyHolderInTheWrongPlaceIsRefused() throws Exception {
    Pair p = Pair.open();
    byte[] key = RingCollective.newKey();
    ListAppender<ILoggingEvent> seen = watch();
    ExecutorService pool = Executors.newSingleThreadExecutor();
    try (Socket misplaced = new Socket(LOOPBACK, p.addresses().get(1).getPort())) {
      Future<float[]> sums = pool.submit(() -> p.joinAndSum(key, key));
      DataInputStream in = new DataInputStream(misplaced.getInputStream());
      DataOutputStream out = new DataOutputStream(misplaced.getOutputStream());
      byte[] challenge = new byte[32], mine = new byte[32];
      in.readFully(challenge); // rank 1 challenges it first: it was first in the backlog
      out.writeInt(1);
      out.writeInt(0);
      out.write(mine);
      out.write(RingCollective.mac(RingCollective.ringKey(key, p.addresses()), "connect", challenge, mine, 1, 0));
      out.flush();
      assertEquals(-1, in.read(), "refused: closed without an answer");
      assertArrayEquals(new float[] {3f, 3f}, sums.get());
      assertTrue(warnings(seen).stream().anyMatch(w -> w.startsWith("rank 1: refused")
          && w.contains("it holds the key but came as rank 1 to rank 0, and here rank 0 connects to rank 1")),
          seen.list.toString());
    } finally {
      pool.shutdownNow();
      unwatch(seen);
    }
  }

  /** A connection that trickles its handshake a byte at a time is cut after the handshake's time, and the ring forms. */
  @Test
  void aTricklingConnectionIsCutAndTheRingForms() throws Exception {
    Pair p = Pair.open();
    ListAppender<ILoggingEvent> seen = watch();
    try (Socket slow = new Socket(LOOPBACK, p.addresses().get(1).getPort())) {
      Thread trickle = new Thread(() -> {
        try {
          slow.getInputStream().readNBytes(32);
          for (int i = 0; i < 60; i++) {
            slow.getOutputStream().write(0);
            Thread.sleep(500);
          }
        } catch (Exception ignored) {
          // cut off, as it should be
        }
      });
      trickle.setDaemon(true);
      trickle.start();
      assertTheRingFormsAfterRefusing(p, seen, w -> w.contains("no whole handshake within 5000 ms"));
    } finally {
      unwatch(seen);
    }
  }

  /** A connection that says nothing is refused after the handshake's time, and the ring forms. */
  @Test
  void aSilentConnectionDelaysTheRingButDoesNotStopIt() throws Exception {
    Pair p = Pair.open();
    ListAppender<ILoggingEvent> seen = watch();
    try (Socket silent = new Socket(LOOPBACK, p.addresses().get(1).getPort())) {
      assertTheRingFormsAfterRefusing(p, seen, w -> w.contains("no handshake within 5000 ms")
          || w.contains("no whole handshake within 5000 ms"));
    } finally {
      unwatch(seen);
    }
  }

  /**
   * Ranks with different keys never join: the connecting side says the other refused it, the
   * accepting side logs why, and both fail by the timeout, not later.
   */
  @Test
  void ranksWithDifferentKeysDoNotJoin() throws Exception {
    Pair p = Pair.open();
    ListAppender<ILoggingEvent> seen = watch();
    long t0 = System.nanoTime();
    try {
      java.util.concurrent.ExecutionException e = assertThrows(java.util.concurrent.ExecutionException.class,
          () -> p.joinAndSum(RingCollective.newKey(), RingCollective.newKey()));
      assertTrue(e.getCause() instanceof CollectiveException, String.valueOf(e.getCause()));
      assertTrue(e.getCause().getMessage().matches("rank \\d: rank \\d \\(.*\\) ended the ring's handshake .*it refused this "
          + "rank.*"), e.getCause().getMessage());
      assertTrue((System.nanoTime() - t0) / 1_000_000 < TIMEOUT.toMillis() + 3000, "by the timeout");
      assertTrue(warnings(seen).stream().anyMatch(w -> w.contains("it does not hold this ring's key")), seen.list.toString());
    } finally {
      unwatch(seen);
    }
  }

  /** A listener that answers the challenge without the key: the connecting rank refuses it by name. */
  @Test
  void aListenerWithoutTheKeyIsNamed() throws Exception {
    try (ServerSocket fake = new ServerSocket(0, 4, LOOPBACK); ServerSocket mine = RingCollective.listen(LOOPBACK)) {
      Thread impostor = new Thread(() -> {
        try (Socket s = fake.accept()) {
          DataOutputStream out = new DataOutputStream(s.getOutputStream());
          out.write(new byte[32]); // a challenge
          DataInputStream in = new DataInputStream(s.getInputStream());
          in.readFully(new byte[4 + 4 + 32 + 32]);
          out.write(new byte[32]); // an answer it cannot compute
          out.flush();
          Thread.sleep(2000);
        } catch (Exception ignored) {
          // the test reads the joining rank's error
        }
      });
      impostor.start();
      InetSocketAddress fakeAddress = new InetSocketAddress(LOOPBACK, fake.getLocalPort());
      CollectiveException e = assertThrows(CollectiveException.class, () -> RingCollective.join(0,
          List.of(new InetSocketAddress(LOOPBACK, mine.getLocalPort()), fakeAddress), mine, TIMEOUT,
          RingCollective.newKey()));
      assertEquals("rank 0: the listener at " + fakeAddress + ", given as rank 1's, does not hold this job's ring key",
          e.getMessage());
      impostor.join();
    }
  }

  @Test
  void aShortKeyIsRefused() throws Exception {
    try (ServerSocket s = RingCollective.listen(LOOPBACK)) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RingCollective.join(0,
          List.of(new InetSocketAddress(LOOPBACK, s.getLocalPort())), s, TIMEOUT, new byte[8]));
      assertEquals("the ring's key must have at least 16 bytes, not 8", e.getMessage());
    }
  }

  /** A port range: the first free port in it, and a clear error when it is full. */
  @Test
  void listensWithinAPortRange() throws Exception {
    int base;
    try (ServerSocket probe = new ServerSocket(0, 1, LOOPBACK)) {
      base = probe.getLocalPort();
    }
    try (ServerSocket first = RingCollective.listen(LOOPBACK, base, base);
        ServerSocket second = RingCollective.listen(LOOPBACK, base, base + 20)) {
      assertEquals(base, first.getLocalPort());
      assertTrue(second.getLocalPort() > base && second.getLocalPort() <= base + 20, "port " + second.getLocalPort());
      IOException full = assertThrows(IOException.class, () -> RingCollective.listen(LOOPBACK, base, base));
      assertTrue(full.getMessage().startsWith("no free port for the ring in " + base + "-" + base + " on 127.0.0.1"),
          full.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> RingCollective.listen(LOOPBACK, 10, 5));
  }
}
