package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.ChildJvm;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A session serves one thread at a time: a second thread that calls it while the first is inside
 * a call is refused, naming the session and both threads, and nothing crashes. Run in child JVMs,
 * where a crash in a driver shows as a death by signal.
 */
class SharedSessionTest {
  private static final int RUNS = 3;
  private static final int ROUNDS = 2000;

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void twoThreadsOnOneSessionAreRefusedWithoutACrash(String backend) {
    if (backend.equals("opencl")) OpenClTests.backend().close(); // skips, or fails under NODAL_REQUIRE_OPENCL=1
    Map<String, String> env = Map.of("LD_PRELOAD", Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString());
    int crashes = 0, failures = 0;
    long served = 0, refused = 0;
    StringBuilder outputs = new StringBuilder();
    for (int run = 0; run < RUNS; run++) {
      ChildJvm.Result r = ChildJvm.run(SharedSession.class, env, 180, backend, String.valueOf(ROUNDS));
      outputs.append("run ").append(run).append(" (exit ").append(r.exitCode()).append("):\n").append(r.output());
      if (r.diedBySignal()) {
        crashes++;
        continue;
      }
      Matcher m = Pattern.compile(SharedSession.COUNTS + " served=(\\d+) refused=(\\d+) other=(\\d+)").matcher(r.output());
      if (r.exitCode() != 0 || !m.find()) {
        failures++;
        continue;
      }
      served += Long.parseLong(m.group(1));
      refused += Long.parseLong(m.group(2));
    }
    System.out.printf("two threads on one %s session, %d child JVMs of %d rounds each: %d calls served, %d refused "
        + "naming both threads, %d runs with other errors, %d crashes%n", backend, RUNS, ROUNDS, served, refused,
        failures, crashes);
    assertEquals(0, crashes, outputs.toString());
    assertEquals(0, failures, outputs.toString());
    assertTrue(refused > 0, "no call collided, so nothing was tested:\n" + outputs);
  }

  /** Handed from thread to thread between calls, a session computes what it computes on one thread. */
  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void aSessionPassedBetweenThreadsBetweenCallsTrainsAsOnOneThread(String backend) throws Exception {
    int steps = 20;
    float[] alone = new float[steps], passed = new float[steps];
    try (Backend b = OpenClTests.named(backend)) {
      Graph g = Models.mlp(1, 3, 4, 2);
      try (Session s = b.compile(g, 2)) {
        s.setOptimizer(new Sgd(0.1f));
        for (int i = 0; i < steps; i++) {
          setBatch(s, g, i);
          alone[i] = s.trainStep();
        }
      }
      Graph h = Models.mlp(1, 3, 4, 2);
      ExecutorService first = Executors.newSingleThreadExecutor(r -> new Thread(r, "first"));
      ExecutorService second = Executors.newSingleThreadExecutor(r -> new Thread(r, "second"));
      try {
        Session s = first.submit(() -> b.compile(h, 2)).get();
        second.submit(() -> s.setOptimizer(new Sgd(0.1f))).get();
        for (int i = 0; i < steps; i++) {
          int step = i;
          (i % 2 == 0 ? first : second).submit(() -> setBatch(s, h, step)).get();
          Future<Float> loss = (i % 3 == 0 ? first : second).submit(s::trainStep);
          passed[i] = loss.get();
        }
        first.submit(s::close).get();
      } finally {
        first.shutdown();
        second.shutdown();
      }
    }
    System.out.printf("%s: %d steps with the session passed between two threads between calls, losses as on one "
        + "thread (last %.6f)%n", backend, steps, passed[steps - 1]);
    assertArrayEquals(alone, passed);
  }

  private static void setBatch(Session s, Graph g, int step) {
    s.setInput((Input) g.node("x"), new float[] {step % 5, 1, -2, 0.5f, step % 3, -1});
    s.setInput((Input) g.node("y"), new float[] {step % 2, 1});
  }
}
