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
 * <p>A sum is a reduce-scatter followed by an all-gather, as in a ring all-reduce: each rank sends
 * 2(size − 1)/size of the data to the next rank while it receives as much from the previous one
 * (a thread of its own sends), every link busy in both directions at once. Every rank ends with
 * the same bits, in the order that {@link Collective} describes. No buffer is allocated per
 * operation: the wire buffers are the ring's own, and floats travel little-endian, so that
 * converting them is a copy.
 *
 * <p>Every connection proves that both ends hold the job's secret key before any data flows: the
 * accepting rank sends a fresh random challenge; the connecting rank answers with its own
 * challenge, its rank, the rank it means to reach and an HMAC-SHA256 over both challenges and
 * both ranks; the accepting rank answers with its HMAC over them in the other order. A
 * connection that fails (a wrong key, a rank that is not the previous one, no handshake within
 * {@link #HANDSHAKE}) is refused, logged at WARN with its address, and the rank goes on accepting
 * until its timeout; once the ring is joined the listening socket is closed, so late connections
 * are refused by the system. The key authenticates; with encryption on (see {@link #join(int,
 * List, ServerSocket, Duration, Duration, byte[], boolean)}) every connection is TLS 1.3 as well,
 * and the handshake then also signs both ends' TLS public keys.
 *
 * <p>Data travels in frames, each a tag (how many floats follow) and the floats; a rank's sending
 * thread, with nothing to send for a quarter of the silence (at most a second), sends a heartbeat,
 * a frame that carries nothing. So a neighbour still computing its step is told from one that has
 * stopped: an operation fails, with a {@link CollectiveException} that names the neighbour, when
 * the previous rank sends neither data nor heartbeats for the silence (a paused process, a lost
 * host or link), when the operation outlasts its timeout although heartbeats come (a neighbour
 * that computes too long or hangs), or when a send makes no progress for the timeout. A closed
 * connection (a process that died) fails it at once. Each pass starts with a header (operation
 * number, kind, length, root) that the receiver checks against its own call, so ranks that call
 * different operations fail at once instead of mixing data; after any failure the ring refuses
 * further operations.
 */
public final class RingCollective implements Collective {
  /** Floats per message: large enough to fill the link, small enough to pipeline. */
  static final int CHUNK = 1 << 15;

  private final int rank, size;
  private final Socket toNext, fromPrev;
  private final BufferedOutputStream out;
  private final DataInputStream in;
  private final String prevName;
  /** How long an operation may wait on its neighbours in all, and a silent neighbour at most. */
  private final long timeoutMillis, silenceMillis;
  /** When the operation in progress began or last received data; and the floats left of the frame being read. */
  private long lastProgress;
  private int frameLeft;
  private final byte[] receiveWire = new byte[4 * CHUNK];
  private final java.nio.FloatBuffer receiveView = ByteBuffer.wrap(receiveWire).order(WIRE_ORDER).asFloatBuffer();
  private final float[] received = new float[CHUNK], headerOut = new float[4], barrierData = new float[1];
  /** Writes to the next rank, on its own thread; null alone in a ring of one. */
  private final Sender sender;
  /** Cuts off a write to the next rank that makes no progress for the timeout (reads time out by themselves). */
  private final java.util.concurrent.ScheduledExecutorService watchdog;
  private volatile boolean stalled;
  /** Operations so far: each pass starts with a header that the receiver checks against its own call. */
  private int sequence;
  /** The failure that broke the ring: the streams' positions are unknown after it. */
  private String broken;

  /** Floats travel little-endian, the byte order of the machines Nodal runs on, so that converting them is a copy. */
  static final java.nio.ByteOrder WIRE_ORDER = java.nio.ByteOrder.LITTLE_ENDIAN;

  private RingCollective(int rank, int size, Socket toNext, Socket fromPrev, String prevName, long timeoutMillis,
      long silenceMillis) throws IOException {
    this.rank = rank;
    this.size = size;
    this.toNext = toNext;
    this.fromPrev = fromPrev;
    this.prevName = prevName;
    this.timeoutMillis = timeoutMillis;
    this.silenceMillis = silenceMillis;
    this.out = toNext == null ? null : new BufferedOutputStream(toNext.getOutputStream(), 1 << 16);
    this.in = fromPrev == null ? null : new DataInputStream(new BufferedInputStream(fromPrev.getInputStream(), 1 << 16));
    if (toNext == null) {
      this.sender = null;
      this.watchdog = null;
      return;
    }
    this.sender = new Sender();
    Thread t = new Thread(sender, "nodal-ring-send-" + rank);
    t.setDaemon(true);
    t.start();
    this.watchdog = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
      Thread w = new Thread(r, "nodal-ring-watchdog-" + rank);
      w.setDaemon(true);
      return w;
    });
    long period = Math.max(10, Math.min(250, timeoutMillis / 10));
    watchdog.scheduleAtFixedRate(sender::checkStalled, period, period, java.util.concurrent.TimeUnit.MILLISECONDS);
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

  /** How long a neighbour may send neither data nor heartbeats by default (at most the timeout). */
  public static final Duration DEFAULT_SILENCE = Duration.ofSeconds(10);

  /** The silence a ring of this {@code timeout} gets by default: {@link #DEFAULT_SILENCE}, or the timeout when shorter. */
  public static Duration defaultSilence(Duration timeout) {
    return timeout.compareTo(DEFAULT_SILENCE) < 0 ? timeout : DEFAULT_SILENCE;
  }

  /**
   * {@link #join(int, List, ServerSocket, Duration, Duration, byte[])} with the
   * {@link #defaultSilence default silence}.
   */
  public static RingCollective join(int rank, List<InetSocketAddress> addresses, ServerSocket server, Duration timeout,
      byte[] key) throws IOException {
    return join(rank, addresses, server, timeout, defaultSilence(timeout), key);
  }

  /**
   * Joins the ring as {@code rank} of {@code addresses.size()}: connects to the next rank's
   * address (retrying until the timeout while it is not yet listening) and accepts the previous
   * rank on {@code server}, which is then closed; both connections prove knowledge of {@code key}
   * (see the class comment) and anything else that connects is refused.
   *
   * <p>Each later operation may wait {@code timeout} in all on its neighbours (a slow neighbour
   * still computing its step, say); but a neighbour that sends neither data nor its heartbeat,
   * which each rank's sending thread sends when it has had nothing to send for a while, for
   * {@code silence} has stopped (a paused process, a lost host or link), and fails the operation
   * then.
   *
   * @param silence at most {@code timeout}; its quarter (at most a second) is the heartbeats' interval
   * @param key the job's secret, the same on every rank, at least {@link #MIN_KEY_BYTES} bytes
   */
  public static RingCollective join(int rank, List<InetSocketAddress> addresses, ServerSocket server, Duration timeout,
      Duration silence, byte[] key) throws IOException {
    return join(rank, addresses, server, timeout, silence, key, false);
  }

  /**
   * As {@link #join(int, List, ServerSocket, Duration, Duration, byte[])}, and with {@code encrypt}
   * every connection is TLS 1.3, each rank with a key pair and certificate of its own made here;
   * the ring's handshake, inside TLS, also signs both ends' public keys, so that a program in the
   * middle is refused. Every rank of a ring must agree on {@code encrypt}.
   */
  public static RingCollective join(int rank, List<InetSocketAddress> addresses, ServerSocket server, Duration timeout,
      Duration silence, byte[] key, boolean encrypt) throws IOException {
    if (silence.isNegative() || silence.isZero() || silence.compareTo(timeout) > 0) {
      throw new IllegalArgumentException("the ring's silence, " + silence.toMillis() + " ms, must be positive and at most "
          + "its timeout, " + timeout.toMillis() + " ms");
    }
    int size = addresses.size();
    if (rank < 0 || rank >= size) throw new IllegalArgumentException("rank " + rank + " of " + size);
    if (key == null || key.length < MIN_KEY_BYTES) {
      throw new IllegalArgumentException("the ring's key must have at least " + MIN_KEY_BYTES + " bytes"
          + (key == null ? "" : ", not " + key.length));
    }
    int millis = (int) Math.min(Integer.MAX_VALUE, Math.max(1, timeout.toMillis()));
    if (size == 1) {
      server.close();
      return new RingCollective(0, 1, null, null, "none", millis, millis);
    }
    int next = (rank + 1) % size, prev = (rank + size - 1) % size;
    long deadline = System.nanoTime() + millis * 1_000_000L;
    // Both ends also sign the ring's addresses: a rank left over from an earlier ring of the job is
    // not taken for one of this ring's.
    byte[] secret = ringKey(key, addresses);
    RingTls tls;
    try {
      tls = encrypt ? RingTls.create(RANDOM) : null;
    } catch (RuntimeException e) {
      server.close();
      throw e;
    }
    // The previous rank is accepted on a thread of its own: every rank connects before it accepts,
    // and a handshake needs both ends, so one thread would wait on the next rank around the ring.
    java.util.concurrent.ExecutorService acceptor = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "nodal-ring-accept-" + rank);
      t.setDaemon(true);
      return t;
    });
    java.util.concurrent.Future<Socket> accepted = acceptor.submit(
        () -> acceptPrevious(rank, prev, addresses.get(prev), server, secret, deadline, tls));
    acceptor.shutdown();
    Socket toNext = null, fromPrev = null;
    try {
      toNext = connect(rank, next, addresses.get(next), millis);
      if (tls != null) toNext = secure(rank, next, addresses.get(next), toNext, tls, deadline);
      greetNext(rank, next, addresses.get(next), toNext, secret, deadline);
      fromPrev = await(accepted, rank, prev, addresses.get(prev), deadline);
      int quiet = (int) Math.max(1, silence.toMillis());
      fromPrev.setSoTimeout(quiet);
      fromPrev.setTcpNoDelay(true);
      toNext.setSoTimeout(millis);
      return new RingCollective(rank, size, toNext, fromPrev, "rank " + prev + " (" + addresses.get(prev) + ")", millis,
          quiet);
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
    return hmac(key, ("nodal-ring-2 ring " + all).getBytes(java.nio.charset.StandardCharsets.UTF_8));
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

  /** TLS over the connection to the next rank, which may first take other connections ahead of it. */
  private static Socket secure(int rank, int next, InetSocketAddress address, Socket s, RingTls tls, long deadline) {
    try {
      s.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
      return tls.client(s);
    } catch (IOException e) {
      closeQuietly(s);
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: TLS with rank %d (%s) failed (%s): is the "
          + "ring's encryption on for every rank?", rank, next, address, e.getMessage()), e);
    }
  }

  /** The connecting side's handshake: answer the challenge, then check the next rank's answer. */
  private static void greetNext(int rank, int next, InetSocketAddress address, Socket s, byte[] key, long deadline)
      throws IOException {
    DataInputStream in = new DataInputStream(s.getInputStream());
    DataOutputStream out = new DataOutputStream(s.getOutputStream());
    try {
      byte[] serverNonce = new byte[NONCE_BYTES], clientNonce = new byte[NONCE_BYTES], binding = RingTls.binding(s);
      // The challenge may wait while the next rank refuses connections ahead of this one; the rest may not.
      s.setSoTimeout((int) Math.max(1, (deadline - System.nanoTime()) / 1_000_000L));
      in.readFully(serverNonce);
      s.setSoTimeout(handshakeMillis(deadline));
      RANDOM.nextBytes(clientNonce);
      out.writeInt(rank);
      out.writeInt(next);
      out.write(clientNonce);
      out.write(mac(key, "connect", serverNonce, clientNonce, rank, next, binding));
      out.flush();
      byte[] answer = new byte[MAC_BYTES];
      in.readFully(answer);
      if (!java.security.MessageDigest.isEqual(answer, mac(key, "accept", clientNonce, serverNonce, next, rank, binding))) {
        throw new CollectiveException(String.format(Locale.ROOT,
            "rank %d: the listener at %s, given as rank %d's, does not hold this job's ring key%s", rank, address, next,
            binding.length > 0 ? ", or a program in the middle holds the connection" : ""));
      }
    } catch (SocketTimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) did not complete the ring's "
          + "handshake in time", rank, next, address), e);
    } catch (IOException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: rank %d (%s) ended the ring's handshake (%s): "
          + "it refused this rank (another key, another ring, encryption on one side only, or its own timeout; its log "
          + "says which)", rank, next, address,
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
      byte[] key, long deadline, RingTls tls) throws IOException {
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
        String reason;
        try {
          if (tls != null) {
            s.setSoTimeout(handshakeMillis(deadline));
            s = tls.server(s);
          }
          reason = challenge(s, rank, prev, key, deadline);
        } catch (IOException e) {
          reason = "no TLS (" + e.getMessage() + "): a plain connection, or one cut short";
        }
        cut.cancel(false);
        if (reason == null && !cutOff.get()) return s;
        refused++;
        // The timer's close and the read's own timeout come at the same moment: either way, too slow.
        log.warn("rank {}: refused a ring connection from {}: {}", rank, s.getRemoteSocketAddress(),
            cutOff.get() ? "no whole handshake within " + HANDSHAKE.toMillis() + " ms" + (tls != null
                ? " (a rank whose ring is not encrypted waits so)" : "") : reason);
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
      byte[] binding = RingTls.binding(s);
      RANDOM.nextBytes(serverNonce);
      out.write(serverNonce);
      out.flush();
      int claimed = in.readInt(), target = in.readInt();
      if ((claimed >>> 24) == 0x16 && ((claimed >>> 16) & 0xFF) == 0x03) {
        return "it speaks TLS, and this rank's ring is not encrypted: every rank must agree on the ring's encryption";
      }
      in.readFully(clientNonce);
      in.readFully(proof);
      if (!java.security.MessageDigest.isEqual(proof, mac(key, "connect", serverNonce, clientNonce, claimed, target,
          binding))) {
        return "it does not hold this ring's key (another job, or another ring of this job)"
            + (binding.length > 0 ? ", or a program in the middle holds the connection" : "");
      }
      if (claimed != prev || target != rank) {
        return String.format(Locale.ROOT, "it holds the key but came as rank %d to rank %d, and here rank %d connects to "
            + "rank %d", claimed, target, prev, rank);
      }
      out.write(mac(key, "accept", clientNonce, serverNonce, rank, claimed, binding));
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
    return mac(key, step, first, second, from, to, new byte[0]);
  }

  /** As {@link #mac(byte[], String, byte[], byte[], int, int)}, and a TLS connection's {@link RingTls#binding}. */
  static byte[] mac(byte[] key, String step, byte[] first, byte[] second, int from, int to, byte[] binding) {
    return hmac(key, ("nodal-ring-2 " + step).getBytes(java.nio.charset.StandardCharsets.US_ASCII), first, second,
        ByteBuffer.allocate(8).putInt(from).putInt(to).array(), binding);
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

  /**
   * A reduce-scatter then an all-gather around the ring. The range is cut into {@code size}
   * segments ({@link Collective#segmentStart}); segment j's partial sum starts at rank j + 1 and
   * travels once around to rank j, each rank adding its own values, so that rank j ends with the
   * segment's total; then each total travels once around, copied by every rank. Each rank sends
   * 2(size − 1)/size of the range, and sends and receives at once.
   */
  @Override
  public void allReduceSum(float[] data, int offset, int length) {
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    if (size == 1) return;
    begin();
    try {
      int op = sequence++;
      header(op, SUM, length, -1);
      expect(op, SUM, length, -1, "the sum");
      for (int step = 0; step < size - 1; step++) {
        exchange(data, offset, length, Math.floorMod(rank - 1 - step, size), Math.floorMod(rank - 2 - step, size), true);
      }
      for (int step = 0; step < size - 1; step++) {
        exchange(data, offset, length, Math.floorMod(rank - step, size), Math.floorMod(rank - 1 - step, size), false);
      }
    } catch (CollectiveException e) {
      throw broke(e);
    }
  }

  /**
   * One step of the ring: sends segment {@code sent} to the next rank while receiving segment
   * {@code got} from the previous one, adding it to this rank's values ({@code add}, the
   * received partial first) or copying it; returns once both are done, so that the next step may
   * send what this one received.
   */
  private void exchange(float[] data, int offset, int length, int sent, int got, boolean add) {
    int sentFrom = Collective.segmentStart(length, size, sent), sentTo = Collective.segmentStart(length, size, sent + 1);
    sender.add(data, offset + sentFrom, sentTo - sentFrom);
    int from = Collective.segmentStart(length, size, got), to = Collective.segmentStart(length, size, got + 1);
    for (int start = from; start < to; start += CHUNK) {
      int n = Math.min(CHUNK, to - start), at = offset + start;
      if (add) {
        receive(received, 0, n, "the sum");
        for (int i = 0; i < n; i++) data[at + i] = received[i] + data[at + i];
      } else {
        receive(data, at, n, "the sum");
      }
    }
    sender.drain();
  }

  @Override
  public void broadcast(float[] data, int offset, int length, int root) {
    if (root < 0 || root >= size) throw new IllegalArgumentException("broadcast from rank " + root + " of " + size);
    java.util.Objects.checkFromIndexSize(offset, length, data.length);
    if (size == 1) return;
    begin();
    try {
      passAround(sequence++, data, offset, length, root);
    } catch (CollectiveException e) {
      throw broke(e);
    }
  }

  /** Starts an operation, unless an earlier one broke the ring. */
  private void begin() {
    if (broken != null) throw new CollectiveException("rank " + rank + ": the ring broke earlier: " + broken);
    lastProgress = System.nanoTime();
  }

  /**
   * Breaks the ring for good after {@code e}, since the streams' positions are then unknown, and
   * closes it, so that the neighbours fail at once rather than at their timeout; returns {@code e}.
   */
  private CollectiveException broke(CollectiveException e) {
    broken = e.getMessage();
    close();
    return e;
  }

  /** Copies {@code root}'s range to every rank, around the ring from the root, chunk by chunk. */
  private void passAround(int op, float[] data, int offset, int length, int root) {
    int last = (root + size - 1) % size; // the rank before the root keeps it without passing it on
    if (rank != last) header(op, BROADCAST, length, root);
    if (rank == root) {
      sender.add(data, offset, length);
    } else {
      expect(op, BROADCAST, length, root, "the broadcast");
      for (int start = 0; start < length; start += CHUNK) {
        int n = Math.min(CHUNK, length - start), at = offset + start;
        receive(data, at, n, "the broadcast");
        if (rank != last) sender.add(data, at, n);
      }
    }
    sender.drain();
  }

  /** What a pass carries, ahead of its data: the operation's number, kind, length and root. */
  private void header(int op, int kind, int length, int root) {
    headerOut[0] = Float.intBitsToFloat(op);
    headerOut[1] = Float.intBitsToFloat(kind);
    headerOut[2] = Float.intBitsToFloat(length);
    headerOut[3] = Float.intBitsToFloat(root);
    sender.add(headerOut, 0, 4);
  }

  private void expect(int op, int kind, int length, int root, String what) {
    receive(received, 0, 4, what);
    int gotOp = Float.floatToRawIntBits(received[0]), gotKind = Float.floatToRawIntBits(received[1]);
    int gotLength = Float.floatToRawIntBits(received[2]), gotRoot = Float.floatToRawIntBits(received[3]);
    if (gotOp != op || gotKind != kind || gotLength != length || gotRoot != root) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: %s sent %s, but this rank called %s", rank, prevName,
          describe(gotOp, gotKind, gotLength, gotRoot), describe(op, kind, length, root)));
    }
  }

  private static String describe(int op, int kind, int length, int root) {
    String name = kind == SUM ? "allReduceSum" : kind == BROADCAST ? "broadcast from rank " + root : "operation " + kind;
    return String.format(Locale.ROOT, "%s of %d floats (operation #%d)", name, length, op);
  }

  @Override
  public void barrier() {
    allReduceSum(barrierData);
  }

  /**
   * Reads {@code n} floats from the previous rank into {@code into[at ..]}, frame by frame,
   * passing over heartbeats; fails when the previous rank falls silent for the silence, or when
   * the operation outlasts its timeout.
   */
  private void receive(float[] into, int at, int n, String what) {
    try {
      while (n > 0) {
        if (frameLeft == 0) {
          int tag = Integer.reverseBytes(in.readInt()); // little-endian, as the floats
          if (tag == HEARTBEAT && System.nanoTime() - lastProgress > timeoutMillis * 1_000_000L) {
            throw new CollectiveException(String.format(Locale.ROOT, "rank %d: %s is alive (its heartbeats come) but sent "
                + "no data of %s for %d ms: a neighbour is still computing or hangs (raise the timeout for slow steps)",
                rank, prevName, what, timeoutMillis));
          }
          if (tag >= 0) lastProgress = System.nanoTime();
          if (tag < 0 && tag != HEARTBEAT) {
            throw new CollectiveException("rank " + rank + ": " + prevName + " sent frame " + tag + " during " + what
                + ": not this version of the ring's protocol");
          }
          frameLeft = Math.max(0, tag);
          continue;
        }
        int k = Math.min(n, frameLeft);
        in.readFully(receiveWire, 0, 4 * k);
        receiveView.clear();
        receiveView.get(into, at, k);
        at += k;
        n -= k;
        frameLeft -= k;
      }
    } catch (SocketTimeoutException e) {
      throw new CollectiveException(String.format(Locale.ROOT, "rank %d: no data and no heartbeat from %s for %d ms during "
          + "%s: it stopped (a paused process, a lost host or link)", rank, prevName, silenceMillis, what), e);
    } catch (IOException e) {
      CollectiveException sending = sender.failure();
      if (sending != null) throw new CollectiveException(sending.getMessage(), sending); // the sender closed the connections
      throw new CollectiveException("rank " + rank + ": " + prevName + " closed the connection or failed during " + what
          + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()), e);
    }
  }

  /** The tag of a frame that carries no data: the sender is alive, with nothing to send yet. */
  private static final int HEARTBEAT = -1;

  @Override
  public void close() {
    if (sender != null) sender.close();
    if (watchdog != null) watchdog.shutdownNow();
    if (toNext != null) discardInput(toNext);
    closeQuietly(toNext);
    closeQuietly(fromPrev);
  }

  /**
   * Reads and drops what has come in on the connection to the next rank (over TLS, the next
   * rank's session tickets): closing a socket with unread input resets the connection, which
   * would drop the end of this rank's last data before the next rank has read it.
   */
  private static void discardInput(Socket s) {
    try {
      java.io.InputStream in = RingTls.raw(s).getInputStream();
      byte[] sink = new byte[4096];
      for (int n = in.available(); n > 0; n = in.available()) in.read(sink, 0, Math.min(n, sink.length));
    } catch (IOException ignored) {
      // already closed or reset: nothing to keep
    }
  }

  /**
   * Sends queued ranges to the next rank on a thread of its own, so that this rank sends and
   * receives at once, as a ring needs. The queue holds references to the caller's arrays; the
   * caller leaves a queued range alone until {@link #drain} returns. A write that makes no
   * progress for the timeout is cut off by the watchdog, which closes the connection.
   */
  private final class Sender implements Runnable {
    private static final int SLOTS = 64;
    private final float[][] arrays = new float[SLOTS][];
    private final int[] offsets = new int[SLOTS], lengths = new int[SLOTS];
    /** Ranges taken ({@code head}) and queued ({@code tail}) so far; guarded by this. */
    private long head, tail;
    private CollectiveException failure;
    private boolean closed;
    /** When the write in progress began, or 0: what the watchdog checks. */
    private volatile long writingSince;
    /** A frame: its tag (the floats it carries, or {@link #HEARTBEAT}), then the floats. */
    private final byte[] wire = new byte[4 + 4 * CHUNK];
    private final ByteBuffer tag = ByteBuffer.wrap(wire, 0, 4).order(WIRE_ORDER);
    private final java.nio.FloatBuffer view = ByteBuffer.wrap(wire, 4, 4 * CHUNK).slice().order(WIRE_ORDER)
        .asFloatBuffer();
    /** Nothing to send for this long, and a heartbeat goes instead. */
    private final long heartbeatMillis = Math.max(1, Math.min(1000, silenceMillis / 4));
    /** Whether the write in progress is a heartbeat; and whether one failed, after which none is sent. */
    private volatile boolean writingHeartbeat;
    private boolean heartbeatsFailed;

    /** Queues {@code data[offset .. offset + length)}, waiting while the queue is full. */
    synchronized void add(float[] data, int offset, int length) {
      while (tail - head == SLOTS && failure == null && !closed) pause();
      check();
      // Data now waits behind a heartbeat that an idle neighbour's full buffers may hold up: the
      // watchdog's clock starts now.
      if (writingHeartbeat) writingSince = System.nanoTime() | 1;
      int slot = (int) (tail % SLOTS);
      arrays[slot] = data;
      offsets[slot] = offset;
      lengths[slot] = length;
      tail++;
      notifyAll();
    }

    /** Returns once every queued range has been written; throws the sending's failure. */
    synchronized void drain() {
      while (head != tail && failure == null && !closed) pause();
      check();
    }

    /** Whether data is queued: a heartbeat stuck behind a neighbour idle for hours is no stall until then. */
    private synchronized boolean dataWaiting() {
      return tail > head;
    }

    synchronized CollectiveException failure() {
      return failure;
    }

    private void check() {
      if (failure != null) throw new CollectiveException(failure.getMessage(), failure); // this thread's own trace
      if (closed) throw new CollectiveException("rank " + rank + ": the ring is closed");
    }

    private void pause() {
      try {
        wait();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CollectiveException("rank " + rank + ": interrupted while sending to rank " + (rank + 1) % size, e);
      }
    }

    @Override
    public void run() {
      try {
        while (true) {
          float[] data = null;
          int offset = 0, length = 0;
          boolean more = false;
          synchronized (this) {
            long idleSince = System.nanoTime();
            while (head == tail && !closed && System.nanoTime() - idleSince < heartbeatMillis * 1_000_000L) {
              wait(heartbeatMillis);
            }
            if (closed) return;
            if (head != tail) {
              int slot = (int) (head % SLOTS);
              data = arrays[slot];
              offset = offsets[slot];
              length = lengths[slot];
              more = tail - head > 1;
            }
          }
          if (data == null) { // idle for a while: tell the next rank this one is alive
            if (!heartbeatsFailed) {
              writingHeartbeat = true;
              try {
                write(HEARTBEAT, 0);
                out.flush();
              } catch (IOException e) {
                // The next rank closed, having done its operations, or went away: a later data write,
                // if there is one, says so; the operation this rank may still be receiving goes on.
                heartbeatsFailed = true;
              } finally {
                writingHeartbeat = false;
                writingSince = 0;
              }
            }
            continue;
          }
          for (int start = 0; start < length; start += CHUNK) {
            int n = Math.min(CHUNK, length - start);
            view.clear();
            view.put(data, offset + start, n);
            write(n, n);
          }
          writingSince = System.nanoTime() | 1;
          if (!more) out.flush(); // the next range, when there is one, pushes this one out
          writingSince = 0;
          synchronized (this) {
            arrays[(int) (head % SLOTS)] = null;
            head++;
            notifyAll();
          }
        }
      } catch (Throwable e) { // whatever ends this thread fails the ring: the caller must not wait on it
        writingSince = 0;
        CollectiveException f = new CollectiveException(stalled
            ? String.format(Locale.ROOT, "rank %d: rank %d took no data for %d ms", rank, (rank + 1) % size, timeoutMillis)
            : "rank " + rank + ": sending to rank " + (rank + 1) % size + " failed: " + e, e);
        synchronized (this) {
          failure = f;
          notifyAll();
        }
        // The receiving side, which may be waiting on the previous rank, learns of it at once.
        closeQuietly(fromPrev);
      }
    }

    /** Writes a frame tagged {@code frameTag} with the first {@code floats} floats of the view. */
    private void write(int frameTag, int floats) throws IOException {
      tag.putInt(0, frameTag);
      writingSince = System.nanoTime() | 1;
      out.write(wire, 0, 4 + 4 * floats);
    }

    /** Called by the watchdog: cuts off a write that has made no progress for the timeout. */
    void checkStalled() {
      long since = writingSince;
      if (since != 0 && System.nanoTime() - since > timeoutMillis * 1_000_000L && (!writingHeartbeat || dataWaiting())) {
        stalled = true;
        closeQuietly(toNext);
      }
    }

    synchronized void close() {
      closed = true;
      notifyAll();
    }
  }

  /** Closes {@code s}, a TLS socket by the connection under it first, so that nothing waits on the peer. */
  private static void closeQuietly(Socket s) {
    if (s == null) return;
    Socket raw = RingTls.raw(s);
    try {
      if (raw != s) raw.close();
    } catch (IOException ignored) {
      // closing: nothing left to tell the peer
    }
    try {
      s.close();
    } catch (IOException ignored) {
      // as above
    }
  }

}
