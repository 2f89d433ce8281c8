package dev.nodal.parallel;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.List;
import java.util.Locale;

/**
 * Workers in separate processes or machines, joined in a ring of TCP connections: each rank
 * connects to the next and accepts the previous. The ranks swap their listening addresses once,
 * through whatever rendezvous they have (Spark's {@code allGather}, a file, a test), and then
 * exchange data only with their two neighbours.
 *
 * <p>A sum travels the ring twice, pipelined in chunks: down the chain 0 → 1 → … → size−1, each
 * rank adding its own values to what it received (so every element is added in rank order, as
 * a serial loop would), then from rank size−1 around to rank size−2, each rank keeping and
 * passing on the total. Each link carries the data once each way round, as in a ring
 * all-reduce, and every rank ends with the same bits. The two passes run one after the other,
 * each a chain without a cycle, so blocking sockets cannot deadlock.
 *
 * <p>Every connection proves that both ends hold the job's secret key before any data flows: the
 * accepting rank sends a fresh random challenge; the connecting rank answers with its own
 * challenge, its rank, the rank it means to reach and an HMAC-SHA256 over both challenges and
 * both ranks; the accepting rank answers with its HMAC over them in the other order. A
 * connection that fails (a wrong key, a rank that is not the previous one, no handshake within
 * {@link #HANDSHAKE}) is refused, logged at WARN with its address, and the rank goes on accepting
 * until its timeout; once the ring is joined the listening socket is closed, so late connections
 * are refused by the system. The key authenticates; it does not encrypt the gradients that follow.
 *
 * <p>Every read and every send waits at most the timeout: a silent or dead peer fails the
 * operation with a {@link CollectiveException} that names it. Each pass starts with a header
 * (operation number, kind, length, root) that the receiver checks against its own call, so ranks
 * that call different operations fail at once instead of mixing data; after any failure the ring
 * refuses further operations.
 */
public final class RingCollective implements Collective {
  /** Floats per message: large enough to fill the link, small enough to pipeline. */
  static final int CHUNK = 1 << 15;

  private final int rank, size;
  private final Socket toNext, fromPrev;
  private final DataOutputStream out;
  private final DataInputStream in;
  private final String prevName;
  private final long timeoutMillis;
  private final byte[] wire = new byte[4 * CHUNK];
  private final float[] received = new float[CHUNK];
  /** Closes the connection to the next rank when a send stalls past the timeout (reads time out by themselves). */
  private final java.util.concurrent.ScheduledExecutorService watchdog;
  private volatile boolean stalled;
  /** Operations so far: each pass starts with a header that the receiver checks against its own call. */
  private int sequence;
  /** The failure that broke the ring: the streams' positions are unknown after it. */
  private String broken;

  private RingCollective(int rank, int size, Socket toNext, Socket fromPrev, String prevName, long timeoutMillis)
      throws IOException {
    this.rank = rank;
    this.size = size;
    this.toNext = toNext;
    this.fromPrev = fromPrev;
    this.prevName = prevName;
    this.timeoutMillis = timeoutMillis;
    this.out = toNext == null ? null : new DataOutputStream(new BufferedOutputStream(toNext.getOutputStream(), 1 << 16));
    this.in = fromPrev == null ? null : new DataInputStream(new BufferedInputStream(fromPrev.getInputStream(), 1 << 16));
    this.watchdog = toNext == null ? null : java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread t = new Thread(r, "nodal-ring-watchdog-" + rank);
      t.setDaemon(true);
      return t;
    });
  }

  /** The shortest secret {@link #join} takes, in bytes. */
  public static final int MIN_KEY_BYTES = 16;
  /** How long one connection may take over the handshake before it is refused (at most the join's timeout). */
  static final Duration HANDSHAKE = Duration.ofSeconds(5);
  private static final int NONCE_BYTES = 32, MAC_BYTES = 32;
  private static final String MAC_ALGORITHM = "HmacSHA256";
  private static final org.slf4j.Logger log = org.slf4j.LoggerFactory.getLogger(RingCollective.class);
  private static final java.security.SecureRandom RANDOM = new java.security.SecureRandom();

  /** A fresh random secret of 32 bytes for one job's ring, to hand every rank (never a constant). */
  public static byte[] newKey() {
    byte[] key = new byte[32];
    RANDOM.nextBytes(key);
    return key;
  }

  /**
   * This rank's listening socket, on an ephemeral port of {@code host} (every interface when
   * null): open it before the ranks swap addresses, so that a neighbour's connection waits in its
   * backlog however late this rank accepts.
   */
  public static ServerSocket listen(InetAddress host) throws IOException {
    return new ServerSocket(0, 4, host);
  }

  /**
   * As {@link #listen(InetAddress)}, on the first free port of {@code [fromPort, toPort]} (for
   * firewalls that open a range).
   *
   * @throws IOException naming the range when every port in it is taken
   */
  public static ServerSocket listen(InetAddress host, int fromPort, int toPort) throws IOException {
    if (fromPort < 1 || toPort > 65535 || fromPort > toPort) {
      throw new IllegalArgumentException("ring ports " + fromPort + "-" + toPort + ": give a range within 1-65535");
    }
    IOException last = null;
    for (int port = fromPort; port <= toPort; port++) {
      try {
        return new ServerSocket(port, 4, host);
      } catch (java.net.BindException e) {
        last = e;
      }
    }
    throw new IOException("no free port for the ring in " + fromPort + "-" + toPort + " on "
        + (host == null ? "any interface" : host.getHostAddress()) + " (" + last.getMessage() + ")", last);
  }

  /**
   * Joins the ring as {@code rank} of {@code addresses.size()}: connects to the next rank's
   * address (retrying until the timeout while it is not yet listening) and accepts the previous
   * rank on {@code server}, which is then closed; both connections prove knowledge of {@code key}
   * (see the class comment) and anything else that connects is refused. Every later read waits at
   * most {@code timeout}.
   *
   * @param key the job's secret, the same on every rank, at least {@link #MIN_KEY_BYTES} bytes
   */
  public static RingCollective join(int rank, List<InetSocketAddress> addresses, ServerSocket server, Duration timeout,
      byte[] key) throws IOException {
    int size = addresses.size();
    if (rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " of " + size);
    if (key == null || key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException("the ring's key must have at least " + MIN_KEY_BYTES + " bytes"
          + (key == null ? "" : ", not " + key.length));
    }
    int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    if (size == 1) {
      server.close();
      return new RingCollective(0, 1, null, null, "none", millis);
    }
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    long deadline = System.nanoTime() + millis * 1_000_000L;
    // Both ends also sign the ring's addresses: a rank left over from an earlier ring of the job is
    // not taken for one of this ring's.
    byte[] secret = ringKey(key, addresses);
    // The previous rank is accepted on a thread of its own: every rank connects before it accepts,
    // and a handshake needs both ends, so one thread would wait on the next rank around the ring.
    java.util.concurrent.ExecutorService acceptor = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "nodal-ring-accept-" + rank);
      t.setDaemon(true);
      return t;
    });
    java.util.concurrent.Future<Socket> accepted = acceptor.submit(
        () -> acceptPrevious(rank, prev, addresses.get(prev), server, secret, deadline));
    acceptor.shutdown();
    Socket toNext = null, fromPrev = null;
    try {
      toNext = connect(rank, next, addresses.get(next), millis);
      greetNext(rank, next, addresses.get(next), toNext, secret, deadline);
      fromPrev = await(accepted, rank, prev, addresses.get(prev), deadline);
      fromPrev.setSoTimeout(millis);
      fromPrev.setTcpNoDelay(true);
      toNext.setSoTimeout(millis);
      return new RingCollective(rank, size, toNext, fromPrev, "rank " + prev + " (" + addresses.get(prev) + ")", millis);
    } catch (IOException | RuntimeException e) {
      closeQuietly(toNext);
      closeQuietly(fromPrev);
      throw e;
    } finally {
      server.close(); // ends a pending accept
      if (fromPrev == null) {
        // A handshake in progress ends within HANDSHAKE; a socket it won is closed, so that the
        // previous rank fails at once rather than at its timeout.
        try {
          closeQuietly(accepted.get(HANDSHAKE.toMillis() + 1000, java.util.concurrent.TimeUnit.MILLISECONDS));
        } catch (Exception ignored) {
          // the accept failed or is still stuck: nothing of it to close
        }
      }
    }
  }

  /** The key for one ring: {@code key}'s HMAC over the ranks' addresses, in rank order. */
  static byte[] ringKey(byte[] key, List<InetSocketAddress> addresses) {
    StringBuilder all = new StringBuilder();
    for (InetSocketAddress a : addresses) all.append(a.getHostString()).append(':').append(a.getPort()).append(' ');
    return hmac(key, ("nodal-ring-1 ring " + all).getBytes(java.nio.charset.StandardCharsets.UTF_8));
  }

  /** HMAC-SHA256 under {@code key} of {@code parts}, one after the other: the ring's keys and proofs, and keys derived for it. */
  public static byte[] hmac(byte[] key, byte[]... parts) {
    try {
      javax.crypto.Mac mac = javax.crypto.Mac.getInstance(MAC_ALGORITHM);
      mac.init(new javax.crypto.spec.SecretKeySpec(key, MAC_ALGORITHM));
      for (byte[] part : parts) mac.update(part);
      return mac.doFinal();
    } catch (java.security.GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is missing from this JVM", e);
    }
  }

  private static Socket await(java.util.concurrent.Future<Socket> accepted, int rank, int prev,
      InetSocketAddress prevAddress, long deadline) throws IOException {
    try {
      // The acceptor stops at the deadline itself; the margin lets it say why.
      return accepted.get(Math.max(0, deadline - System.nanoTime()) + 2_000_000_000L,
          java.util.concurrent.TimeUnit.NANOSECONDS);
    } catch (java.util.concurrent.ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException io) throw io;
      if (cause instanceof RuntimeException re) throw re;
      throw new CollectiveException("rank " + rank + ": accepting the previous rank failed: " + cause, cause);
    } catch (java.util.concurrent.TimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) did not join within the timeout",
          rank, prev, prevAddress), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CollectiveException("rank " + rank + ": interrupted while accepting the previous rank", e);
    }
  }

  /** The connecting side's handshake: answer the challenge, then check the next rank's answer. */
  private static void greetNext(int rank, int next, InetSocketAddress address, Socket s, byte[] key, long deadline)
      throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    DataOutputStream out = new DataOutputStream(s.getOutputStream());
    try {
      byte[] serverNonce = new byte[NONCE_BYTES], clientNonce = new byte[NONCE_BYTES];
      // The challenge may wait while the next rank refuses connections ahead of this one; the rest may not.
      s.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
      in.readFully(serverNonce);
      s.setSoTimeout(handshakeMillis(deadline));
      RANDOM.nextBytes(clientNonce);
      out.writeInt(rank);
      out.writeInt(next);
      out.write(clientNonce);
      out.write(mac(key, "connect", serverNonce, clientNonce, rank, next));
      out.flush();
      byte[] answer = new byte[MAC_BYTES];
      in.readFully(answer);
      if (!java.security.MessageDigest.isEqual(answer, mac(key, "accept", clientNonce, serverNonce, next, rank))) {
        throw new CollectiveException(String.format(Locale.ROOT,
            "rank %d: the listener at %s, given as rank %d's, does not hold this job's ring key", rank, address, next));
      }
    } catch (SocketTimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) did not complete the ring's "
          + "handshake in time", rank, next, address), e);
    } catch (IOException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) ended the ring's handshake (%s): "
          + "it refused this rank (another key, another ring, or its own timeout; its log says which)", rank, next, address,
          e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
    }
  }

  /**
   * The accepting side: challenges each connection until one proves the key as rank {@code prev},
   * refusing and logging the others, until the deadline. Each handshake has {@link #HANDSHAKE}
   * at most, whole: a connection that trickles its bytes is closed then. Handshakes are taken one
   * at a time, so connections that stall delay the previous rank by up to that much each.
   */
  private static Socket acceptPrevious(int rank, int prev, InetSocketAddress prevAddress, ServerSocket server,
      byte[] key, long deadline) throws IOException {
    int refused = 0;
    java.util.concurrent.ScheduledExecutorService closer = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(
        r -> {
          Thread t = new Thread(r, "nodal-ring-handshake-" + rank);
          t.setDaemon(true);
          return t;
        });
    try {
      while (true) {
        long left = (deadline - System.nanoTime()) / 1_000_000L;
        Socket s = null;
        if (left > 0) {
          server.setSoTimeout((int) Math.min(Integer.MAX_VALUE, left));
          try {
            s = server.accept();
          } catch (SocketTimeoutException e) {
            // past the deadline: said below
          }
        }
        if (s == null) {
          throw new CollectiveException(String.format(Locale.ROOT, "rank %d: %s within the timeout", rank, refused == 0
              ? String.format(Locale.ROOT, "rank %d (%s) did not connect", prev, prevAddress)
              : String.format(Locale.ROOT, "no connection proved to be rank %d (%s); %d refused (see the warnings)", prev,
                  prevAddress, refused)));
        }
        Socket accepted = s;
        java.util.concurrent.atomic.AtomicBoolean cutOff = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.ScheduledFuture<?> cut = closer.schedule(() -> {
          cutOff.set(true);
          closeQuietly(accepted);
        }, handshakeMillis(deadline), java.util.concurrent.TimeUnit.MILLISECONDS);
        String reason = challenge(s, rank, prev, key, deadline);
        cut.cancel(false);
        if (reason == null && !cutOff.get()) return s;
        refused++;
        // The timer's close and the read's own timeout come at the same moment: either way, too slow.
        log.warn("rank {}: refused a ring connection from {}: {}", rank, s.getRemoteSocketAddress(),
            cutOff.get() ? "no whole handshake within " + HANDSHAKE.toMillis() + " ms" : reason);
        closeQuietly(s);
      }
    } finally {
      closer.shutdownNow();
    }
  }

  /** Null when {@code s} proved the key as rank {@code prev} (and got this rank's answer), else why not. */
  private static String challenge(Socket s, int rank, int prev, byte[] key, long deadline) {
    try {
      s.setSoTimeout(handshakeMillis(deadline));
      DataInputStream in = new DataInputStream(s.getInputStream());
      DataOutputStream out = new DataOutputStream(s.getOutputStream());
      byte[] serverNonce = new byte[NONCE_BYTES], clientNonce = new byte[NONCE_BYTES], proof = new byte[MAC_BYTES];
      RANDOM.nextBytes(serverNonce);
      out.write(serverNonce);
      out.flush();
      int claimed = in.readInt(), target = in.readInt();
      in.readFully(clientNonce);
      in.readFully(proof);
      if (!java.security.MessageDigest.isEqual(proof, mac(key, "connect", serverNonce, clientNonce, claimed, target))) {
        return "it does not hold this ring's key (another job, or another ring of this job)";
      }
      if (claimed != prev || target != rank) {
        return String.format(Locale.ROOT, "it holds the key but came as rank %d to rank %d, and here rank %d connects to "
            + "rank %d", claimed, target, prev, rank);
      }
      out.write(mac(key, "accept", clientNonce, serverNonce, rank, claimed));
      out.flush();
      return null;
    } catch (SocketTimeoutException e) {
      return "no handshake within " + HANDSHAKE.toMillis() + " ms";
    } catch (IOException e) {
      return "the handshake broke off (" + e.getMessage() + ")";
    }
  }

  private static int handshakeMillis(long deadline) {
    long left = (deadline - System.nanoTime()) / 1_000_000L;
    return (int) Math.max(1, Math.min(HANDSHAKE.toMillis(), left));
  }

  /**
   * HMAC-SHA256 under {@code key} (a ring's, {@link #ringKey}) of the protocol's name, the step,
   * both challenges and both ranks.
   */
  static byte[] mac(byte[] key, String step, byte[] first, byte[] second, int from, int to) {
    return hmac(key, ("nodal-ring-1 " + step).getBytes(java.nio.charset.StandardCharsets.US_ASCII), first, second,
        ByteBuffer.allocate(8).putInt(from).putInt(to).array());
  }

  private static Socket connect(int rank, int next, InetSocketAddress address, int millis) throws IOException {
    long deadline = System.nanoTime() + millis * 1_000_000L;
    while (true) {
      Socket s = new Socket();
      try {
        s.connect(address, millis);
        s.setTcpNoDelay(true);
        return s;
      } catch (IOException e) {
        s.close();
        if (!(e instanceof ConnectException) && !(e instanceof SocketTimeoutException)) throw e;
        if (System.nanoTime() > deadline) {
          throw new CollectiveException(String.format(Locale.ROOT, "rank %d: could not connect to rank %d at %s within %d ms", rank,
              next, address, millis), e);
        }
        try {
          Thread.sleep(20);
        } catch (InterruptedException ie) {
          Thread.currentThread().interrupt();
          throw new CollectiveException("rank " + rank + ": interrupted while connecting to rank " + next, ie);
        }
      }
    }
  }

  @Override
  public int rank() {
    return rank;
  }

  @Override
  public int size() {
    return size;
  }

  private static final int SUM = 1, BROADCAST = 2;

  @Override
  public void allReduceSum(float[] data, int offset, int length) {
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    if (size == 1) return;
    run(() -> {
      int op = sequence++;
      // Down the chain: rank r receives x_0 + … + x_{r−1}, adds x_r, passes it on.
      if (rank > 0) expect(op, SUM, length, -1, "the sum");
      if (rank < size - 1) header(op, SUM, length, -1);
      for (int start = 0; start < length; start += CHUNK) {
        int n = Math.min(CHUNK, length - start), at = offset + start;
        if (rank > 0) {
          receive(n, "the sum");
          for (int i = 0; i < n; i++) data[at + i] = received[i] + data[at + i];
        }
        if (rank < size - 1) send(data, at, n);
      }
      passAround(op, SUM, data, offset, length, size - 1, "the sum");
    });
  }

  @Override
  public void broadcast(float[] data, int offset, int length, int root) {
    if (root < 0 || root >= size) throw new IllegalArgumentException("broadcast from rank " + root + " of " + size);
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    if (size > 1) run(() -> passAround(sequence++, BROADCAST, data, offset, length, root, "the broadcast"));
  }

  /** Runs one operation; any failure breaks the ring for good, since the streams' positions are then unknown. */
  private void run(Runnable operation) {
    if (broken != null) throw new CollectiveException("rank " + rank + ": the ring broke earlier: " + broken);
    try {
      operation.run();
    } catch (CollectiveException e) {
      broken = e.getMessage();
      close(); // the neighbours fail at once on the closed connections, rather than at their timeout
      throw e;
    }
  }

  /** Copies {@code root}'s range to every rank, around the ring from the root. */
  private void passAround(int op, int kind, float[] data, int offset, int length, int root, String what) {
    int last = (root + size - 1) % size; // the rank before the root keeps it without passing it on
    if (rank != root) expect(op, kind, length, root, what);
    if (rank != last) header(op, kind, length, root);
    for (int start = 0; start < length; start += CHUNK) {
      int n = Math.min(CHUNK, length - start), at = offset + start;
      if (rank != root) {
        receive(n, what);
        System.arraycopy(received, 0, data, at, n);
      }
      if (rank != last) send(data, at, n);
    }
  }

  /** What a pass carries, ahead of its data: the operation's number, kind, length and root. */
  private void header(int op, int kind, int length, int root) {
    float[] h = {Float.intBitsToFloat(op), Float.intBitsToFloat(kind), Float.intBitsToFloat(length),
        Float.intBitsToFloat(root)};
    send(h, 0, 4);
  }

  private void expect(int op, int kind, int length, int root, String what) {
    receive(4, what);
    int[] got = {Float.floatToRawIntBits(received[0]), Float.floatToRawIntBits(received[1]),
        Float.floatToRawIntBits(received[2]), Float.floatToRawIntBits(received[3])};
    if (got[0] != op || got[1] != kind || got[2] != length || got[3] != root) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: %s sent %s, but this rank called %s", rank, prevName,
          describe(got[0], got[1], got[2], got[3]), describe(op, kind, length, root)));
    }
  }

  private static String describe(int op, int kind, int length, int root) {
    String name = kind == SUM ? "allReduceSum" : kind == BROADCAST ? "broadcast from rank " + root : "operation " + kind;
    return String.format(Locale.ROOT, "%s of %d floats (operation #%d)", name, length, op);
  }

  @Override
  public void barrier() {
    allReduceSum(new float[1]);
  }

  private void send(float[] data, int at, int n) {
    ByteBuffer.wrap(wire, 0, 4 * n).asFloatBuffer().put(data, at, n);
    java.util.concurrent.ScheduledFuture<?> alarm = watchdog.schedule(() -> {
      stalled = true;
      closeQuietly(toNext);
    }, timeoutMillis, java.util.concurrent.TimeUnit.MILLISECONDS);
    try {
      out.write(wire, 0, 4 * n);
      out.flush();
    } catch (IOException e) {
      throw new CollectiveException(stalled
          ? String.format(Locale.ROOT, "rank %d: rank %d took no data for %d ms", rank, (rank + 1) % size, timeoutMillis)
          : "rank " + rank + ": sending to rank " + (rank + 1) % size + " failed: " + e.getMessage(), e);
    } finally {
      alarm.cancel(false);
    }
  }

  private void receive(int n, String what) {
    try {
      in.readFully(wire, 0, 4 * n);
    } catch (SocketTimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: no data from %s for %d ms during %s", rank, prevName,
          timeoutMillis, what), e);
    } catch (IOException e) {
      throw new CollectiveException("rank " + rank + ": " + prevName + " closed the connection or failed during " + what
          + ": " + e.getMessage(), e);
    }
    ByteBuffer.wrap(wire, 0, 4 * n).asFloatBuffer().get(received, 0, n);
  }

  @Override
  public void close() {
    if (watchdog != null) watchdog.shutdownNow();
    closeQuietly(toNext);
    closeQuietly(fromPrev);
  }

  private static void closeQuietly(Socket s) {
    if (s == null) return;
    try {
      s.close();
    } catch (IOException ignored) {
      // closing: nothing left to tell the peer
    }
  }
}
