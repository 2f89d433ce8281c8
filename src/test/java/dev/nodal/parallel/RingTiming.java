package dev.nodal.parallel;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Times {@link RingCollective#allReduceSum} between ranks that are threads of this JVM on
 * loopback (not part of the test run): {@code ./mvnw -q test-compile}, then
 * {@code java -cp target/classes:target/test-classes dev.nodal.parallel.RingTiming RANKS FLOATS [tls]}.
 * Prints rank 0's minimum and median over 30 sums, after 5 unmeasured ones, each sum started
 * after a barrier, and the bus bandwidth of each: {@code 2 (P − 1) / P × bytes / time}, the bytes
 * each rank must send in any all-reduce, per second (NCCL's measure).
 */
public final class RingTiming {
  private RingTiming() {}

  public static void main(String[] args) throws Exception {
    int size = Integer.parseInt(args[0]), floats = Integer.parseInt(args[1]), reps = 30;
    boolean tls = args.length > 2 && args[2].equals("tls");
    List<Collective> group = CollectiveTest.ring(size, Duration.ofSeconds(30), Duration.ofSeconds(10), 0, tls);
    ExecutorService pool = Executors.newFixedThreadPool(size);
    try {
      List<Future<double[]>> ranks = new ArrayList<>();
      for (Collective c : group) {
        ranks.add(pool.submit(() -> {
          try (c) {
            float[] x = new float[floats];
            double[] ms = new double[reps];
            for (int i = -5; i < reps; i++) {
              c.barrier();
              long t0 = System.nanoTime();
              c.allReduceSum(x);
              if (i >= 0) ms[i] = (System.nanoTime() - t0) / 1e6;
            }
            return ms;
          }
        }));
      }
      double[] ms = ranks.get(0).get();
      for (Future<double[]> f : ranks) f.get();
      Arrays.sort(ms);
      double bus = 2.0 * (size - 1) / size * 4.0 * floats / 1e6; // MB each rank sends, at the least
      System.out.printf("ring%s of %d ranks, %d floats: min %.2f ms, median %.2f ms; bus bandwidth %.2f GB/s at the "
          + "minimum, %.2f at the median%n", tls ? " over TLS" : "", size, floats, ms[0], ms[reps / 2], bus / ms[0], bus / ms[reps / 2]);
    } finally {
      pool.shutdown();
    }
  }
}
