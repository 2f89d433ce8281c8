package dev.nodal.parallel;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Both multi-worker collectives against a serial loop: every rank ends with the bits of the sum in
 * the order {@link Collective} gives (segment j summed from rank j + 1 round to rank j), for 1 to 4
 * ranks and lengths around the ranks, the ring's chunk and a million; with two ranks, the bits of
 * {@code x_0 + x_1};
 * broadcasts from every root; and peers that fall silent or leave fail the others within the
 * timeout, naming the peer.
 */
class CollectiveTest {
  private static final Duration TIMEOUT = Duration.ofSeconds(20);
  /** The tests' rings share one key, as the ranks of one job do. */
  private static final byte[] KEY = RingCollective.newKey();
  /**
   * Milliseconds within which a failure that needs no timeout must come: half of {@link #TIMEOUT},
   * so that it tells "at once" from "at the timeout" on a slow or loaded machine too.
   */
  private static final long BEFORE_THE_TIMEOUT = TIMEOUT.toMillis() / 2;

  interface Body {
    float[] run(Collective c) throws Exception;
  }

  /** Runs {@code body} on every rank of a group, each in its own thread; returns each rank's result. */
  static List<float[]> onEveryRank(List<Collective> group, Body body) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(group.size());
    try {
      List<Future<float[]>> results = new ArrayList<>();
      for (Collective c : group) results.add(pool.submit(() -> body.run(c)));
      List<float[]> out = new ArrayList<>();
      for (Future<float[]> f : results) out.add(f.get());
      return out;
    } finally {
      pool.shutdownNow();
      for (Collective c : group) c.close();
    }
  }

  /** A ring of {@code size} ranks over loopback, joined concurrently. */
  static List<Collective> ring(int size, Duration timeout) throws Exception {
    return ring(size, timeout, 0);
  }

  /**
   * A ring whose ranks accept their previous rank with a receive buffer of {@code receiveBuffer}
   * bytes (0: the system's default, as {@link RingCollective#listen} gives). Set before bind, it
   * holds for the accepted connection whatever the host's tcp_rmem, autotuning included.
   */
  static List<Collective> ring(int size, Duration timeout, int receiveBuffer) throws Exception {
    return ring(size, timeout, RingCollective.defaultSilence(timeout), receiveBuffer);
  }

  /** As {@link #ring(int, Duration, int)}, a neighbour silent for {@code silence} failing an operation. */
  static List<Collective> ring(int size, Duration timeout, Duration silence, int receiveBuffer) throws Exception {
    return ring(size, timeout, silence, receiveBuffer, false);
  }

  /** As {@link #ring(int, Duration, Duration, int)}, over TLS with {@code encrypt}. */
  static List<Collective> ring(int size, Duration timeout, Duration silence, int receiveBuffer, boolean encrypt)
      throws Exception {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    List<ServerSocket> servers = new ArrayList<>();
    List<InetSocketAddress> addresses = new ArrayList<>();
    for (int r = 0; r < size; r++) {
      ServerSocket s;
      if (receiveBuffer == 0) {
        s = RingCollective.listen(loopback);
      } else {
        s = new ServerSocket();
        s.setReceiveBufferSize(receiveBuffer);
        s.bind(new InetSocketAddress(loopback, 0), 4);
      }
      servers.add(s);
      addresses.add(new InetSocketAddress(loopback, s.getLocalPort()));
    }
    ExecutorService pool = Executors.newFixedThreadPool(size);
    try {
      List<Future<RingCollective>> joins = new ArrayList<>();
      for (int r = 0; r < size; r++) {
        int rank = r;
        joins.add(pool.submit(() -> RingCollective.join(rank, addresses, servers.get(rank), timeout, silence, KEY,
            encrypt)));
      }
      List<Collective> group = new ArrayList<>();
      for (Future<RingCollective> f : joins) group.add(f.get());
      return group;
    } finally {
      pool.shutdown();
    }
  }

  static Stream<Arguments> groups() {
    List<Arguments> out = new ArrayList<>();
    for (int size = 1; size <= 4; size++) {
      for (int length : new int[] {0, 1, size - 1, size + 1, RingCollective.CHUNK + 1, 235_146, 1_000_003}) {
        out.add(Arguments.of("ring", size, length));
        out.add(Arguments.of("threads", size, length));
      }
    }
    return out.stream();
  }

  static List<Collective> make(String kind, int size) throws Exception {
    return kind.equals("ring") ? ring(size, TIMEOUT) : ThreadCollective.group(size, TIMEOUT);
  }

  static float[] data(int rank, int length) {
    SplittableRandom r = new SplittableRandom(31L * rank + length);
    float[] x = new float[length];
    for (int i = 0; i < length; i++) x[i] = (float) (r.nextGaussian() * Math.pow(10, r.nextInt(-3, 4)));
    return x;
  }

  @ParameterizedTest(name = "{0}, {1} ranks, {2} floats")
  @MethodSource("groups")
  void everyRankHoldsTheSumInRingOrderBitForBit(String kind, int size, int length) throws Exception {
    float[][] inputs = new float[size][];
    for (int r = 0; r < size; r++) inputs[r] = data(r, length);
    float[] expected = new float[length];
    for (int j = 0; j < size; j++) {
      for (int i = Collective.segmentStart(length, size, j); i < Collective.segmentStart(length, size, j + 1); i++) {
        float sum = inputs[(j + 1) % size][i];
        for (int k = 2; k <= size; k++) sum += inputs[(j + k) % size][i];
        expected[i] = sum;
      }
    }
    if (size == 2) {
      for (int i = 0; i < length; i++) assertEquals(inputs[0][i] + inputs[1][i], expected[i], 0f, "two ranks: the serial sum");
    }
    List<float[]> results = onEveryRank(make(kind, size), c -> {
      float[] x = new float[length + 3]; // at an offset, with guards either side
      System.arraycopy(data(c.rank(), length), 0, x, 2, length);
      x[0] = x[1] = x[length + 2] = 7f;
      c.allReduceSum(x, 2, length);
      assertTrue(x[0] == 7f && x[1] == 7f && x[length + 2] == 7f, "rank " + c.rank() + " wrote outside its range");
      return java.util.Arrays.copyOfRange(x, 2, length + 2);
    });
    for (int r = 0; r < size; r++) assertArrayEquals(expected, results.get(r), kind + " rank " + r);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void broadcastsFromEveryRootAndRepeatsInOrder(String kind) throws Exception {
    int size = 3, length = 2 * RingCollective.CHUNK + 5;
    List<float[]> results = onEveryRank(make(kind, size), c -> {
      float[] all = new float[size * length];
      for (int root = 0; root < size; root++) {
        float[] x = c.rank() == root ? data(root, length) : new float[length];
        c.broadcast(x, 0, length, root);
        System.arraycopy(x, 0, all, root * length, length);
        c.barrier();
      }
      return all;
    });
    for (int r = 0; r < size; r++) {
      for (int root = 0; root < size; root++) {
        assertArrayEquals(data(root, length), java.util.Arrays.copyOfRange(results.get(r), root * length,
            (root + 1) * length), kind + ": rank " + r + " from root " + root);
      }
    }
  }

  static Stream<String> kinds() {
    return Stream.of("ring", "threads");
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void aSilentPeerFailsTheOthersWithinTheTimeoutNamingIt(String kind) throws Exception {
    Duration timeout = Duration.ofMillis(600);
    List<Collective> group = kind.equals("ring") ? ring(2, timeout) : ThreadCollective.group(2, timeout);
    try {
      long t0 = System.nanoTime();
      CollectiveException e = assertThrows(CollectiveException.class, () -> group.get(0).allReduceSum(new float[1000]));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 500 && ms < 5_000, "failed after " + ms + " ms");
      // The ring's rank 1 is alive, its heartbeats coming, but never calls: the operation's timeout ends it.
      assertTrue(e.getMessage().contains(kind.equals("ring") ? "rank 1 (" : "did not reach the sum"), e.getMessage());
      if (kind.equals("ring")) assertTrue(e.getMessage().contains("is alive (its heartbeats come) but sent no data"),
          e.getMessage());
    } finally {
      for (Collective c : group) c.close();
    }
  }

  @Test
  void heartbeatsKeepASlowNeighbourLongerThanTheSilence() throws Exception {
    // Silence 600 ms, rank 1 late by 2 s: its heartbeats show it alive, and the sum goes through.
    List<float[]> results = onEveryRank(ring(2, TIMEOUT, Duration.ofMillis(600), 0), c -> {
      if (c.rank() == 1) Thread.sleep(2000);
      float[] x = {c.rank() + 1};
      c.allReduceSum(x);
      return x;
    });
    assertEquals(3f, results.get(0)[0]);
    assertEquals(3f, results.get(1)[0]);
  }

  @Test
  void aNeighbourThatClosesWhenDoneDoesNotFailTheOthers() throws Exception {
    // The root broadcasts and closes at once; rank 2, the root's previous rank, still waits a second
    // for rank 1, its heartbeats to the root meeting a closed connection all the while.
    int length = 100_000;
    List<Collective> group = ring(3, TIMEOUT, Duration.ofMillis(400), 0);
    List<float[]> results = onEveryRank(group, c -> {
      float[] x = c.rank() == 0 ? data(0, length) : new float[length];
      if (c.rank() == 1) Thread.sleep(1000);
      c.broadcast(x, 0, length, 0);
      if (c.rank() == 0) c.close();
      return x;
    });
    for (int r = 1; r < 3; r++) assertArrayEquals(data(0, length), results.get(r), "rank " + r);
  }

  @Test
  void aStoppedProcessIsNoticedWithinTheSilence() throws Exception {
    // Rank 1 is another JVM, paused with SIGSTOP: its connection stays open, and nothing comes.
    InetAddress loopback = InetAddress.getLoopbackAddress();
    try (ServerSocket mine = RingCollective.listen(loopback)) {
      Process peer = RingPeer.start(mine.getLocalPort(), KEY);
      try {
        int peerPort = RingPeer.port(peer);
        List<InetSocketAddress> addresses = List.of(new InetSocketAddress(loopback, mine.getLocalPort()),
            new InetSocketAddress(loopback, peerPort));
        try (RingCollective ring = RingCollective.join(0, addresses, mine, TIMEOUT, Duration.ofSeconds(1), KEY)) {
          float[] x = {1};
          ring.allReduceSum(x);
          assertEquals(3f, x[0], "the peer adds 2");
          assertEquals(0, new ProcessBuilder("kill", "-STOP", Long.toString(peer.pid())).start().waitFor());
          long t0 = System.nanoTime();
          CollectiveException e = assertThrows(CollectiveException.class, () -> ring.allReduceSum(new float[] {1}));
          long ms = (System.nanoTime() - t0) / 1_000_000;
          assertTrue(ms >= 900 && ms < BEFORE_THE_TIMEOUT, "noticed after " + ms + " ms, against a silence of 1000");
          assertTrue(e.getMessage().contains("no data and no heartbeat from rank 1") && e.getMessage().contains("1000 ms"),
              e.getMessage());
        }
      } finally {
        peer.destroyForcibly();
        peer.waitFor();
      }
    }
  }

  @Test
  void aPeerThatLeavesFailsTheRingAtOnce() throws Exception {
    List<Collective> group = ring(3, TIMEOUT);
    try {
      group.get(1).close();
      long t0 = System.nanoTime();
      CollectiveException e = assertThrows(CollectiveException.class, () -> group.get(2).allReduceSum(new float[10]));
      assertTrue((System.nanoTime() - t0) / 1_000_000 < BEFORE_THE_TIMEOUT, "a closed connection fails before the timeout");
      assertTrue(e.getMessage().contains("rank 1"), e.getMessage());
    } finally {
      for (Collective c : group) c.close();
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("kinds")
  void ranksThatCallDifferentOperationsFailTogether(String kind) throws Exception {
    List<Collective> group = make(kind, 3);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      List<Future<?>> calls = new ArrayList<>();
      for (Collective c : group) {
        calls.add(pool.submit(() -> {
          if (c.rank() == 1) c.broadcast(new float[10], 0, 10, 0);
          else c.allReduceSum(new float[10]);
          return null;
        }));
      }
      long t0 = System.nanoTime();
      for (Future<?> f : calls) {
        ExecutionException e = assertThrows(ExecutionException.class, f::get);
        assertTrue(e.getCause() instanceof CollectiveException, String.valueOf(e.getCause()));
      }
      assertTrue((System.nanoTime() - t0) / 1_000_000 < BEFORE_THE_TIMEOUT, "the mismatch fails every rank before the timeout");
    } finally {
      pool.shutdownNow();
      for (Collective c : group) c.close();
    }
  }

  @Test
  void aPeerThatStopsReadingFailsTheSenderWithinTheTimeout() throws Exception {
    // Rank 0 broadcasts, which only sends; rank 1 never reads, and takes at most a few KiB into
    // its receive buffer, however large the host's tcp_rmem: the send stalls once rank 0's own
    // send buffer is full (3 MB measured on Linux loopback), far short of the 80 MB sent.
    List<Collective> group = ring(2, Duration.ofMillis(600), 4096);
    try {
      long t0 = System.nanoTime();
      CollectiveException e = assertThrows(CollectiveException.class,
          () -> group.get(0).broadcast(new float[20_000_000], 0, 20_000_000, 0));
      long ms = (System.nanoTime() - t0) / 1_000_000;
      assertTrue(ms >= 500 && ms < 10_000, "failed after " + ms + " ms");
      assertTrue(e.getMessage().contains("rank 1 took no data for 600 ms"), e.getMessage());
      CollectiveException again = assertThrows(CollectiveException.class, () -> group.get(0).barrier());
      assertTrue(again.getMessage().contains("the ring broke earlier"), again.getMessage());
    } finally {
      for (Collective c : group) c.close();
    }
  }

  @Test
  void aRankThatLeftFailsTheThreadGroupAtOnceEvenForLateComers() {
    List<Collective> group = ThreadCollective.group(3, TIMEOUT);
    group.get(1).close();
    long t0 = System.nanoTime();
    CollectiveException e = assertThrows(CollectiveException.class, () -> group.get(0).allReduceSum(new float[4]));
    assertTrue((System.nanoTime() - t0) / 1_000_000 < BEFORE_THE_TIMEOUT, "at once, not at the timeout");
    assertTrue(e.getMessage().contains("rank 1 left the group"), e.getMessage());
    for (Collective c : group) c.close();
  }

  @Test
  void mismatchedLengthsAreRefused() throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> onEveryRank(ThreadCollective.group(2, TIMEOUT),
        c -> {
          c.allReduceSum(new float[c.rank() + 1]);
          return null;
        }));
    assertTrue(e.getCause() instanceof CollectiveException
        && e.getCause().getMessage().contains("rank 1 passed 2 floats, rank 0 passed 1"), String.valueOf(e.getCause()));
  }

  @Test
  void aSingleWorkerKeepsItsData() {
    Collective c = Collective.single();
    float[] x = {1f, 2f};
    c.allReduceSum(x);
    c.broadcast(x, 0, 2, 0);
    c.barrier();
    assertArrayEquals(new float[] {1f, 2f}, x);
    assertEquals(1, c.size());
  }
}
