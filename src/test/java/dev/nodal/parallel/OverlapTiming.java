package dev.nodal.parallel;

import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.train.ModelZoo;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * How much of the gradients' sum hides behind backward (not part of the test run):
 * {@code ./mvnw -q test-compile}, then {@code java -cp target/classes:target/test-classes:SLF4J
 * dev.nodal.parallel.OverlapTiming RANKS ROWS HIDDEN...}. Ranks are threads of this JVM joined by
 * a {@link RingCollective} on loopback, each with its own CPU session of an MLP 784-HIDDEN…-10 and
 * ROWS rows a step. Each round times, on rank 0, a step done one after the other (backward, then
 * one sum of every gradient) and a step with {@link BucketedSum} (the sum of each bucket started
 * as backward finishes it), alternating; after 3 unmeasured rounds, 20 measured ones. Prints the
 * minimum and median of backward, of the sum, of both in sequence and of both overlapped, and the
 * share of the sum hidden: {@code (sequence − overlapped) / sum}.
 */
public final class OverlapTiming {
  private OverlapTiming() {}

  public static void main(String[] args) throws Exception {
    int size = Integer.parseInt(args[0]), rows = Integer.parseInt(args[1]), rounds = 20;
    int[] hidden = Arrays.stream(args, 2, args.length).mapToInt(Integer::parseInt).toArray();
    Graph g = ModelZoo.mlp(7, 784, 10, hidden);
    List<Collective> group = CollectiveTest.ring(size, Duration.ofSeconds(60));
    ExecutorService pool = Executors.newFixedThreadPool(size);
    try (Backend cpu = Backends.cpu()) {
      List<Future<double[][]>> ranks = new ArrayList<>();
      for (Collective c : group) {
        ranks.add(pool.submit(() -> {
          try (c; Session s = cpu.compile(g, rows); BucketedSum sum = new BucketedSum(g, c, 0, BucketedSum.BUCKET_FLOATS)) {
            SplittableRandom r = new SplittableRandom(c.rank());
            float[] x = new float[rows * 784], y = new float[rows], packed = new float[sum.packed().length];
            for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
            for (int i = 0; i < rows; i++) y[i] = r.nextInt(10);
            s.setInput((Input) g.node("x"), x);
            s.setInput((Input) g.node("y"), y);
            double[][] ms = new double[4][rounds]; // backward, sum, sequence, overlapped
            for (int round = -3; round < rounds; round++) {
              s.forward();
              c.barrier();
              long t0 = System.nanoTime();
              s.backward();
              s.gradients(packed);
              long t1 = System.nanoTime();
              c.allReduceSum(packed);
              long t2 = System.nanoTime();
              s.forward();
              c.barrier();
              long t3 = System.nanoTime();
              sum.backward(s, 1f, false);
              long t4 = System.nanoTime();
              if (round >= 0) {
                ms[0][round] = (t1 - t0) / 1e6;
                ms[1][round] = (t2 - t1) / 1e6;
                ms[2][round] = (t2 - t0) / 1e6;
                ms[3][round] = (t4 - t3) / 1e6;
              }
            }
            return ms;
          }
        }));
      }
      double[][] ms = ranks.get(0).get();
      for (Future<double[][]> f : ranks) f.get();
      long params = g.params().stream().mapToLong(p -> p.shape().exampleSize()).sum();
      int buckets;
      try (BucketedSum layout = new BucketedSum(g, Collective.single(), 0, BucketedSum.BUCKET_FLOATS)) {
        buckets = layout.buckets();
      }
      System.out.printf("%d ranks, MLP 784-%s-10 (%,d parameters, %d buckets), %d rows each; rank 0, ms, min / median:%n",
          size, Arrays.toString(hidden).replaceAll("[\\[\\] ]", "").replace(',', '-'), params,
          buckets, rows);
      String[] names = {"backward", "sum", "backward then sum", "overlapped"};
      double[] median = new double[4];
      for (int k = 0; k < 4; k++) {
        Arrays.sort(ms[k]);
        median[k] = ms[k][rounds / 2];
        System.out.printf("  %-18s %8.2f / %8.2f%n", names[k], ms[k][0], median[k]);
      }
      System.out.printf("  hidden: %.0f%% of the sum by medians, %.0f%% by minimums%n",
          100 * (median[2] - median[3]) / median[1], 100 * (ms[2][0] - ms[3][0]) / ms[1][0]);
    } finally {
      pool.shutdown();
    }
  }
}
