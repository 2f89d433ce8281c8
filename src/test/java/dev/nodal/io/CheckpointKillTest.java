package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.data.DataException;
import dev.nodal.graph.Param;
import dev.nodal.testkit.ChildJvm;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Checkpoint writes survive any sequence of kills: a child JVM that saves checkpoint after
 * checkpoint is killed with SIGKILL at random moments, 100 times in chains of 2 or 3 (the next
 * child recovers what the last one left, and is itself killed, sometimes while recovering). After
 * every kill the latest checkpoint loads, whole: every weight and trainer.json agree on its step,
 * and the step never goes back. A last, uninterrupted run leaves no temporary folder behind.
 */
class CheckpointKillTest {
  private static final int KILLS = 100;
  @TempDir Path dir;

  @Test
  void everyKillLeavesALoadableCheckpoint() throws Exception {
    Path folder = dir.resolve("checkpoint");
    SplittableRandom r = new SplittableRandom(99);
    int kills = 0, unreadable = 0, chains = 0;
    long lastStep = 0;
    List<String> problems = new ArrayList<>();
    while (kills < KILLS) {
      chains++;
      int chain = Math.min(2 + r.nextInt(2), KILLS - kills);
      for (int k = 0; k < chain; k++) {
        Process p = start(folder, 0);
        Thread.sleep(r.nextInt(k == 0 ? 1500 : 700)); // later kills of a chain often land in recovery
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        kills++;
        if (AtomicFiles.readable(folder) == null && lastStep == 0) continue; // killed before its first save
        try {
          long step = check(folder);
          if (step < lastStep) problems.add("kill " + kills + ": step went back from " + lastStep + " to " + step);
          lastStep = step;
        } catch (DataException | RuntimeException e) {
          unreadable++;
          problems.add("kill " + kills + ": " + e.getMessage());
        }
      }
    }
    ChildJvm.Result clean = ChildJvm.run(CheckpointWriter.class, Map.of(), 120, folder.toString(), "2");
    assertEquals(0, clean.exitCode(), clean.output());
    long finalStep = check(folder);
    List<String> leftovers;
    try (var files = Files.list(dir)) {
      leftovers = files.map(f -> f.getFileName().toString()).filter(n -> !n.equals("checkpoint")).toList();
    }
    System.out.printf("%d SIGKILLs in %d chains during checkpoint writes and recovery: %d unreadable, latest step %d; "
        + "after a clean run, %d stale folders%n", kills, chains, unreadable, finalStep, leftovers.size());
    assertTrue(problems.isEmpty(), problems.toString());
    assertEquals(lastStep + 2, finalStep, "the clean run continued from the last checkpoint");
    assertEquals(List.of(), leftovers, "temporary and old folders are cleaned");
  }

  private static Process start(Path folder, long saves) throws IOException {
    return new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
        System.getProperty("java.class.path"), CheckpointWriter.class.getName(), folder.toString(), Long.toString(saves))
        .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  /** Loads the checkpoint and checks it is one save, whole; returns its step. */
  private static long check(Path folder) throws DataException {
    Checkpoint.Loaded c = Checkpoint.load(folder);
    long step = c.trainer().step();
    for (Param p : c.graph().params()) {
      for (float v : c.weights().get(p.name()).data()) {
        if (v != step) throw new IllegalStateException(p.name() + " holds " + v + " in the checkpoint of step " + step);
      }
    }
    return step;
  }
}
