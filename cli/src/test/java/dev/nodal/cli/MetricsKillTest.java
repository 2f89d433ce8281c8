package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.data.DataException;
import dev.nodal.io.AtomicFiles;
import dev.nodal.io.Checkpoint;
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
 * A training run survives kills without losing a metrics row: {@code nodal train} in a child JVM is
 * killed with SIGKILL over and over, in chains of 2 or 3 where each child resumes what the last
 * left. Half of the kills are aimed at the moment a new checkpoint has just landed (its
 * {@code checkpoint.new} folder appears), before the epoch's row reaches metrics.csv; the others
 * fall at random, often into start-up or resume. After every kill the checkpoint loads, metrics.csv
 * holds epochs 1, 2, ... with no gap and at most the newest epoch missing, and a last, clean
 * resume leaves one row per epoch, equal to the rows the checkpoint committed.
 */
class MetricsKillTest {
  private static final int KILLS = 100;
  @TempDir Path dir;

  @Test
  void killsLeaveNoGapInMetricsAndEveryRunResumes() throws Exception {
    Path run = dir.resolve("run");
    SplittableRandom r = new SplittableRandom(17);
    int kills = 0, aimed = 0, aimedHits = 0, chains = 0, resumed = 0;
    List<String> problems = new ArrayList<>();
    while (kills < KILLS) {
      chains++;
      int chain = Math.min(2 + r.nextInt(2), KILLS - kills);
      for (int k = 0; k < chain; k++) {
        boolean resume = AtomicFiles.readable(run.resolve("checkpoint")) != null;
        if (resume) resumed++;
        Process p = start(run, resume);
        boolean aim = k == 0 && r.nextBoolean();
        if (aim) {
          aimed++;
          if (awaitNewCheckpoint(run, p, 20_000)) aimedHits++;
        } else {
          Thread.sleep(r.nextInt(k == 0 ? 2500 : 900)); // later kills of a chain often land in resume
        }
        if (!p.isAlive()) {
          problems.add("kill " + (kills + 1) + ": the child ended by itself with status " + p.exitValue()
              + (resume ? " (resuming)" : ""));
        }
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
        kills++;
        String problem = check(run);
        if (problem != null) problems.add("kill " + kills + ": " + problem);
      }
    }
    int done = Checkpoint.load(run).trainer().epochsDone();
    ChildJvm.Result clean = ChildJvm.run(Main.class, Map.of(), 300, "train", "--resume", run.toString(), "--data",
        TrainCommandTest.subset().toString(), "--device", "cpu", "--epochs", Integer.toString(done + 2));
    assertEquals(0, clean.exitCode(), clean.output());
    List<String> rows = rows(run);
    Checkpoint.Loaded last = Checkpoint.load(run);
    List<String> committed = new ArrayList<>();
    for (var row : last.trainer().metrics()) {
      committed.add(Integer.toString(row.epoch()));
    }
    int gaps = gaps(rows);
    ChildJvm.Result eval = ChildJvm.run(Main.class, Map.of(), 120, "eval", "--checkpoint", run.toString(), "--data",
        TrainCommandTest.subset().toString(), "--device", "cpu");
    System.out.printf("%d SIGKILLs of training in %d chains (%d resumed runs; %d aimed after a checkpoint, %d of them "
        + "landed): %d problems; after a clean resume to epoch %d: %d rows, %d gaps, eval exit %d%n", kills, chains,
        resumed, aimed, aimedHits, problems.size(), done + 2, rows.size(), gaps, eval.exitCode());
    assertTrue(problems.isEmpty(), problems.toString());
    assertEquals(done + 2, rows.size(), "one row per epoch: " + rows);
    assertEquals(0, gaps);
    assertEquals(committed, rows.stream().map(l -> l.split(",")[0]).toList(), "metrics.csv holds the committed rows");
    assertEquals(0, eval.exitCode(), eval.output());
    assertTrue(aimedHits >= 10, "only " + aimedHits + " kills landed right after a checkpoint");
    assertTrue(done >= aimedHits, "each aimed kill came after a new epoch's checkpoint, yet " + done + " epochs are done");
  }

  private static Process start(Path run, boolean resume) throws Exception {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"), Main.class.getName(),
        "train", "--data", TrainCommandTest.subset().toString(), "--device", "cpu"));
    if (resume) {
      command.addAll(List.of("--resume", run.toString()));
    } else {
      command.addAll(List.of("--out", run.toString(), "--epochs", "100000", "--batch-size", "100", "--seed", "5"));
    }
    return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
  }

  /**
   * Waits until the child has written a complete new checkpoint beside the old one (a
   * {@code checkpoint.new} other than any a kill left before); false when none came.
   */
  private static boolean awaitNewCheckpoint(Path run, Process p, long millis) {
    Path fresh = run.resolve("checkpoint.new");
    Object left = AtomicFiles.identity(fresh);
    long end = System.nanoTime() + millis * 1_000_000;
    while (System.nanoTime() < end && p.isAlive()) {
      Object now = AtomicFiles.identity(fresh);
      if (now != null && !now.equals(left)) return true;
      if (now == null) left = null; // the child moved the old one in
      Thread.onSpinWait();
    }
    return false;
  }

  /** What is wrong with the run folder after a kill, or null. */
  private static String check(Path run) throws IOException {
    int epochsDone = 0;
    try {
      epochsDone = Checkpoint.load(run).trainer().epochsDone();
    } catch (DataException e) {
      if (!e.getMessage().contains("no checkpoint here")) return "the checkpoint does not load: " + e.getMessage();
      if (Files.exists(run.resolve("metrics.csv"))) return "metrics.csv without a checkpoint";
    }
    List<String> rows = rows(run);
    if (gaps(rows) > 0) return "metrics.csv has a gap: " + rows;
    if (rows.size() > epochsDone || rows.size() < epochsDone - 1) {
      return "metrics.csv has " + rows.size() + " rows for a checkpoint of " + epochsDone + " epochs";
    }
    return null;
  }

  private static List<String> rows(Path run) throws IOException {
    Path csv = run.resolve("metrics.csv");
    if (!Files.exists(csv)) return List.of();
    return Files.readAllLines(csv).stream().filter(l -> !l.isBlank() && !l.startsWith("epoch")).toList();
  }

  /** Rows whose epoch is not the one after the row before (the first must be epoch 1). */
  private static int gaps(List<String> rows) {
    int gaps = 0;
    for (int i = 0; i < rows.size(); i++) {
      if (Integer.parseInt(rows.get(i).split(",")[0]) != i + 1) gaps++;
    }
    return gaps;
  }
}
