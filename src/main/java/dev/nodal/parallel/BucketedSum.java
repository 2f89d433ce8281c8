package dev.nodal.parallel;

import dev.nodal.backend.Session;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Param;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One worker's gradients summed over the workers while its backward still runs, bucket by bucket,
 * as PyTorch's DDP does. The parameters, packed in {@link Graph#params()} order, are cut from the
 * end into buckets of whole parameters, at most {@link #BUCKET_FLOATS} floats each unless one
 * parameter is larger. Backward finishes a graph built layer by layer from its last parameters
 * (see {@link Session#backward(Session.GradientReady)}), so a thread of this worker's own sums the
 * last bucket as soon as all its parameters are final, then the one before, while the backward
 * goes on; a bucket whose parameters come late holds back the ones before it, never the result.
 * Every worker sums the same buckets in the same order, so the collective's operations match
 * across workers whatever the timing, and every worker ends with the same bits. (With three
 * workers or more the bits depend on the buckets' bounds, as {@link Collective} says.)
 *
 * <p>Behind the parameters, {@code extra} floats may ride with the last bucket (a Spark task sends
 * its loss and its row count so): the caller writes them into {@link #packed()} before the
 * backward. No array is allocated per step.
 */
public final class BucketedSum implements AutoCloseable {
  /** Floats per bucket (1 MiB of gradients, 4 MiB of bytes): large enough to fill a link, small enough to start early. */
  public static final int BUCKET_FLOATS = 1 << 20;

  private final Collective collective;
  private final float[] packed;
  /** Where each parameter (by node id) starts in {@link #packed} and which bucket holds it (0 for other nodes). */
  private final int[] offsetById, bucketById;
  /** Where each bucket starts in {@link #packed}; bucket b ends where b + 1 starts. */
  private final int[] bucketStart;
  /** Parameters of each bucket that the running backward has not finished yet; guarded by this. */
  private final int[] pending, sizes;
  /**
   * The parameters by node id (null for other nodes), and whether this step's backward told each:
   * read and written on the backward's thread only (the sending thread reads {@code pending}).
   */
  private final Param[] paramById;
  private final boolean[] told;
  private final ExecutorService sender;
  /** What the backward tells, and the sums the sending thread runs: made once, not per step. */
  private final Session.GradientReady tell = this::ready;
  private final Runnable sumBuckets = this::sumBuckets;
  private float scale;
  private boolean zeros;
  /** Nanoseconds the last step waited for its sums after its backward: what the backward did not hide. */
  private long exposedNanos;

  /**
   * Sums for the parameters of {@code graph}, and {@code extra} floats behind them, over
   * {@code collective}, in buckets of about {@code bucketFloats}.
   */
  public BucketedSum(Graph graph, Collective collective, int extra, int bucketFloats) {
    if (bucketFloats < 1) throw new IllegalArgumentException("buckets of " + bucketFloats + " floats");
    if (extra < 0) throw new IllegalArgumentException(extra + " extra floats");
    this.collective = collective;
    List<Param> params = graph.params();
    int maxId = graph.nodes().stream().mapToInt(n -> n.id()).max().orElse(-1);
    offsetById = new int[maxId + 1];
    bucketById = new int[maxId + 1];
    paramById = new Param[maxId + 1];
    told = new boolean[maxId + 1];
    int total = 0;
    for (Param p : params) {
      offsetById[p.id()] = total;
      paramById[p.id()] = p;
      total += p.shape().exampleSize();
    }
    // Buckets from the end, the order in which backward finishes them: a bucket closes before a
    // parameter that would take it past bucketFloats.
    java.util.List<Integer> starts = new java.util.ArrayList<>(), counts = new java.util.ArrayList<>();
    int end = total, inBucket = 0, count = 0;
    for (int i = params.size() - 1; i >= 0; i--) {
      int n = params.get(i).shape().exampleSize();
      if (count > 0 && inBucket + n > bucketFloats) {
        starts.add(end);
        counts.add(count);
        inBucket = 0;
        count = 0;
      }
      end -= n;
      inBucket += n;
      count++;
    }
    starts.add(0);
    counts.add(count);
    java.util.Collections.reverse(starts);
    java.util.Collections.reverse(counts);
    packed = new float[total + extra];
    bucketStart = new int[starts.size() + 1];
    for (int b = 0; b < starts.size(); b++) bucketStart[b] = starts.get(b);
    bucketStart[starts.size()] = packed.length; // the extra floats end the last bucket
    for (int b = 0, i = 0; b < starts.size(); b++) {
      for (int k = 0; k < counts.get(b); k++, i++) bucketById[params.get(i).id()] = b;
    }
    sizes = counts.stream().mapToInt(Integer::intValue).toArray();
    pending = new int[sizes.length];
    sender = Executors.newSingleThreadExecutor(r -> {
      Thread t = new Thread(r, "nodal-sum-" + collective.rank());
      t.setDaemon(true);
      return t;
    });
  }

  /** The parameters' gradients, packed, then the extra floats: the sum once {@link #backward} returns. */
  public float[] packed() {
    return packed;
  }

  /** How many buckets a step sums, one collective operation each. */
  public int buckets() {
    return sizes.length;
  }

  /** Where bucket {@code b} starts in {@link #packed()}; {@code bucketStart(buckets())} is its length. */
  int bucketStart(int b) {
    return bucketStart[b];
  }

  /**
   * Runs {@code session}'s backward on this thread, each gradient times {@code scale} (or zeros,
   * for a worker without rows of its own) written into {@link #packed()} as it is final, and each
   * bucket summed over the workers once its parameters are all in; returns when every bucket is
   * summed. If the backward fails, the collective is closed, so that the other workers fail at
   * once rather than at their timeout.
   */
  public void backward(Session session, float scale, boolean zeros) {
    this.scale = scale;
    this.zeros = zeros;
    java.util.Arrays.fill(told, false);
    synchronized (this) {
      System.arraycopy(sizes, 0, pending, 0, sizes.length);
    }
    Future<?> sums = sender.submit(sumBuckets);
    try {
      session.backward(tell);
      requireEveryParameterTold();
    } catch (RuntimeException | Error e) {
      abandon(sums, e);
      throw e;
    }
    long backwardDone = System.nanoTime();
    try {
      sums.get();
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RuntimeException re) throw re;
      if (e.getCause() instanceof Error err) throw err;
      throw new CollectiveException("rank " + collective.rank() + ": the sum failed: " + e.getCause(), e.getCause());
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      CollectiveException failure = new CollectiveException("rank " + collective.rank()
          + ": interrupted while summing the gradients", e);
      abandon(sums, failure);
      throw failure;
    }
    exposedNanos = Math.max(0, System.nanoTime() - backwardDone);
  }

  /**
   * Closes the collective, so that the other workers fail at once rather than at their timeout,
   * and stops this step's sums; a failure to close rides on {@code cause}.
   */
  private void abandon(Future<?> sums, Throwable cause) {
    try {
      collective.close();
    } catch (RuntimeException e) {
      cause.addSuppressed(e);
    } finally {
      sums.cancel(true);
    }
  }

  /** A backward that returned without telling a parameter would leave its bucket's sum waiting for good. */
  private void requireEveryParameterTold() {
    for (Param p : paramById) {
      if (p != null && !told[p.id()]) {
        throw new IllegalStateException("the backward returned without telling the gradient of parameter '" + p.name()
            + "': its bucket cannot be summed");
      }
    }
  }

  /** Nanoseconds the last step waited for its sums after its backward: the part of them the backward did not hide. */
  public long exposedNanos() {
    return exposedNanos;
  }

  private void ready(Param p, float[] gradient, int from) {
    if (told[p.id()]) {
      throw new IllegalStateException("the backward told the gradient of parameter '" + p.name() + "' twice");
    }
    told[p.id()] = true;
    int at = offsetById[p.id()], n = p.shape().exampleSize();
    if (zeros) {
      java.util.Arrays.fill(packed, at, at + n, 0f);
    } else {
      for (int i = 0; i < n; i++) packed[at + i] = gradient[from + i] * scale;
    }
    int b = bucketById[p.id()];
    synchronized (this) { // also publishes the bucket's writes to the sending thread
      if (--pending[b] == 0) notifyAll();
    }
  }

  /** On the sending thread: each bucket from the last, once its parameters are final. */
  private void sumBuckets() {
    for (int b = sizes.length - 1; b >= 0; b--) {
      synchronized (this) {
        while (pending[b] > 0) {
          try {
            wait();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new CollectiveException(String.format(Locale.ROOT, "rank %d: the backward stopped before bucket %d "
                + "was ready", collective.rank(), b), e);
          }
        }
      }
      collective.allReduceSum(packed, bucketStart[b], bucketStart[b + 1] - bucketStart[b]);
    }
  }

  /** Stops the sending thread; the collective stays open (its owner closes it). */
  @Override
  public void close() {
    sender.shutdownNow();
  }
}
