package dev.nodal.spark;

import java.time.Duration;
import org.apache.spark.SparkContext;

/**
 * The tasks a Spark cluster can run at once, as its barrier stages count them: per executor, its
 * cores over {@code spark.task.cpus} (and its other task resources), summed, once the executors
 * have registered. A cluster's executors register after the {@code SparkContext} starts, so
 * counting at once saw only those already there (with three one-core workers, 2).
 */
final class Slots {
  private Slots() {}

  /** {@code spark.nodal.executors.wait}: how long to wait for executors to register. */
  static final String WAIT = "spark.nodal.executors.wait";
  static final Duration DEFAULT_WAIT = Duration.ofSeconds(60);
  /** Without a number to wait for, the count is taken once it has not changed for this long. */
  static final Duration SETTLE = Duration.ofSeconds(3);

  /**
   * The slots, after waiting for {@code wanted} of them (0: for the count to settle, at least one
   * slot) or for {@link #WAIT}, whichever comes first. Local masters count at once.
   */
  static int await(SparkContext sc, int wanted) {
    long seconds = TimeSetting.seconds(sc.conf(), WAIT, DEFAULT_WAIT.toSeconds(), 0, Long.MAX_VALUE, "a time");
    return await(sc, wanted, Duration.ofSeconds(seconds));
  }

  /**
   * As {@link #await(SparkContext, int)}, waiting at most {@code wait}. Without a wanted number,
   * the configuration's own is waited for where it gives one ({@code spark.executor.instances}
   * executors, or {@code spark.cores.max} cores, over {@code spark.task.cpus}); else the count is
   * taken once it has held still for {@link #SETTLE}.
   */
  static int await(SparkContext sc, int wanted, Duration wait) {
    if (sc.isLocal()) return count(sc);
    if (wanted == 0) wanted = configured(sc);
    long deadline = System.nanoTime() + wait.toNanos(), settledAt = System.nanoTime() + SETTLE.toNanos();
    int last = count(sc);
    while (System.nanoTime() < deadline) {
      if (wanted > 0 ? last >= wanted : last > 0 && System.nanoTime() >= settledAt) return last;
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while waiting for the cluster's executors to register", e);
      }
      int now = count(sc);
      if (now != last) settledAt = System.nanoTime() + SETTLE.toNanos();
      last = now;
    }
    return last;
  }

  /** The slots the configuration asks for, or 0 when it does not say. */
  private static int configured(SparkContext sc) {
    int cpus = Math.max(1, sc.conf().getInt("spark.task.cpus", 1));
    if (sc.conf().contains("spark.executor.instances")) {
      return sc.conf().getInt("spark.executor.instances", 0) * (sc.conf().getInt("spark.executor.cores", 1) / cpus);
    }
    if (sc.conf().contains("spark.cores.max")) return sc.conf().getInt("spark.cores.max", 0) / cpus;
    return 0;
  }

  /** {@code spark.nodal.slots.timeout}: how long a running job may lack the slots it needs before it is cancelled. */
  static final String LOST = "spark.nodal.slots.timeout";
  static final Duration DEFAULT_LOST = Duration.ofSeconds(60);

  /** {@link #LOST} of {@code sc}'s configuration. */
  static Duration lostTimeout(SparkContext sc) {
    return Duration.ofSeconds(TimeSetting.seconds(sc.conf(), LOST, DEFAULT_LOST.toSeconds(), 1, Long.MAX_VALUE,
        "a time of at least 1s"));
  }

  /**
   * Watches a job that needs {@code needed} slots, run by the calling thread: when the cluster
   * offers fewer for {@code timeout} on end (a worker was lost, and Spark's barrier stage would
   * wait for its slot forever), runs {@code cancel}, interrupts the calling thread (a job whose
   * submission Spark keeps retrying for want of slots is not yet one that cancelling finds) and
   * keeps why in {@link Watch#lost()}.
   */
  static Watch watch(SparkContext sc, int needed, Duration timeout, Runnable cancel) {
    Watch w = new Watch(sc, needed, timeout, cancel, Thread.currentThread());
    w.thread.start();
    return w;
  }

  /** A running {@link #watch}; {@link #close()} ends it. */
  static final class Watch implements AutoCloseable {
    private final Thread thread;
    private volatile boolean done;
    private volatile String lost;

    private Watch(SparkContext sc, int needed, Duration timeout, Runnable cancel, Thread waiter) {
      thread = new Thread(() -> {
        long shortSince = 0;
        int offered = needed;
        while (!done) {
          offered = count(sc);
          long now = System.nanoTime();
          if (offered >= needed) {
            shortSince = 0;
          } else if (shortSince == 0) {
            shortSince = now;
          } else if (now - shortSince >= timeout.toNanos()) {
            lost = String.format(java.util.Locale.ROOT, "the cluster has offered %d of the %d slots the job needs for %d s "
                + "(%s): a worker or executor was lost", offered, needed, timeout.toSeconds(), LOST);
            cancel.run();
            waiter.interrupt();
            return;
          }
          try {
            Thread.sleep(500);
          } catch (InterruptedException e) {
            return;
          }
        }
      }, "nodal-slot-watch");
      thread.setDaemon(true);
    }

    /** Why the job was cancelled, or null while it was not. */
    String lost() {
      return lost;
    }

    /** Ends the watch; the calling thread's interrupt, when the watch made it, is cleared. */
    @Override
    public void close() {
      done = true;
      thread.interrupt();
      boolean interrupted = false;
      try {
        thread.join(2000);
      } catch (InterruptedException e) {
        interrupted = true; // the watch's own interrupt, or the caller's
      }
      if (lost != null) Thread.interrupted(); // the watch's: the job it stopped is over
      else if (interrupted) Thread.currentThread().interrupt(); // the caller's: kept
    }
  }

  /** Spark's own count for barrier stages, on the default resource profile (internal API, public in its bytecode). */
  static int count(SparkContext sc) {
    return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
  }
}
