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
    long seconds;
    String text = sc.conf().get(WAIT, DEFAULT_WAIT.toSeconds() + "s");
    try {
      seconds = sc.conf().getTimeAsSeconds(WAIT, text);
    } catch (RuntimeException e) {
      seconds = -1;
    }
    if (seconds < 0) throw new IllegalArgumentException(WAIT + "=" + text + ": give a time, as 60s or 2m");
    if (sc.master().startsWith("local")) return count(sc);
    long deadline = System.nanoTime() + seconds * 1_000_000_000L, settledAt = System.nanoTime() + SETTLE.toNanos();
    int last = count(sc);
    while (System.nanoTime() < deadline) {
      if (wanted > 0 ? last >= wanted : last > 0 && System.nanoTime() >= settledAt) return last;
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        break;
      }
      int now = count(sc);
      if (now != last) settledAt = System.nanoTime() + SETTLE.toNanos();
      last = now;
    }
    return last;
  }

  /** Spark's own count for barrier stages, on the default resource profile (internal API, public in its bytecode). */
  private static int count(SparkContext sc) {
    return sc.maxNumConcurrentTasks(sc.resourceProfileManager().defaultResourceProfile());
  }
}
