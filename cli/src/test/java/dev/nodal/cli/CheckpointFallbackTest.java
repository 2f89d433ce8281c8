package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.data.DataException;
import dev.nodal.io.Checkpoint;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged {@code checkpoint.new} (the newest copy, left by a crash during a save) does not hide
 * an intact {@code checkpoint/}: loading, {@code nodal eval} and {@code --resume} fall back to the
 * intact copy and say so; when every copy is damaged, the error is the newest one's.
 */
class CheckpointFallbackTest {
  @TempDir Path dir;

  /** Ways a crash or a disk can leave a copy. */
  private static Map<String, Consumer<Path>> damages() {
    Map<String, Consumer<Path>> d = new LinkedHashMap<>();
    d.put("flipped weight byte", f -> flip(f.resolve("weights.safetensors"), 200));
    d.put("no graph.json", f -> delete(f.resolve("graph.json")));
    d.put("no manifest.json", f -> delete(f.resolve("manifest.json")));
    d.put("truncated trainer.json", f -> truncate(f.resolve("trainer.json"), 5));
    d.put("empty folder", f -> {
      try (Stream<Path> files = Files.list(f)) {
        files.forEach(CheckpointFallbackTest::delete);
      } catch (IOException e) {
        throw new AssertionError(e);
      }
    });
    return d;
  }

  @Test
  void aDamagedNewCopyFallsBackToTheIntactCheckpoint() throws Exception {
    Path run = trainOneEpoch();
    Path intact = run.resolve("checkpoint"), fresh = run.resolve("checkpoint.new");
    int fallbacks = 0;
    for (var damage : damages().entrySet()) {
      copy(intact, fresh);
      damage.getValue().accept(fresh);
      Checkpoint.Loaded loaded = Checkpoint.load(run);
      assertEquals(intact.toAbsolutePath(), loaded.folder().toAbsolutePath(), damage.getKey());
      assertEquals(1, loaded.trainer().epochsDone(), damage.getKey());
      String eval = TrainCommandTest.run("eval", "--checkpoint", run.toString(), "--data",
          TrainCommandTest.subset().toString(), "--device", "cpu");
      assertTrue(eval.contains("accuracy"), damage.getKey() + ": " + eval);
      fallbacks++;
      deleteTree(fresh);
    }
    // Resume reads the intact copy too, and its next save replaces the damaged one.
    copy(intact, fresh);
    flip(fresh.resolve("weights.safetensors"), 200);
    TrainCommandTest.run("train", "--resume", run.toString(), "--epochs", "2", "--data",
        TrainCommandTest.subset().toString(), "--device", "cpu");
    assertFalse(Files.exists(fresh), "the save after resume replaced the damaged copy");
    assertEquals(2, Checkpoint.load(run).trainer().epochsDone());
    System.out.printf("%d kinds of damaged checkpoint.new: %d loads and evals fell back to checkpoint/; resume too%n",
        damages().size(), fallbacks);
  }

  @Test
  void whenEveryCopyIsDamagedTheNewestErrorIsReported() throws Exception {
    Path run = trainOneEpoch();
    Path intact = run.resolve("checkpoint"), fresh = run.resolve("checkpoint.new");
    copy(intact, fresh);
    flip(fresh.resolve("weights.safetensors"), 200);
    flip(intact.resolve("optimizer.safetensors"), 200);
    DataException e = assertThrows(DataException.class, () -> Checkpoint.load(run));
    assertTrue(e.getMessage().contains("checkpoint.new/weights.safetensors"), e.getMessage());
  }

  /**
   * After a reader passed over a damaged checkpoint/ for checkpoint.old, the next save keeps that
   * older copy until its own is complete: at no moment is the damaged copy the only one.
   */
  @Test
  void aSaveKeepsTheOlderCopyUntilItsOwnIsWhole() throws Exception {
    Path run = trainOneEpoch();
    Path intact = run.resolve("checkpoint"), old = run.resolve("checkpoint.old");
    copy(intact, old);
    flip(intact.resolve("weights.safetensors"), 200);
    assertEquals(old.toAbsolutePath(), Checkpoint.load(run).folder().toAbsolutePath());
    boolean[] oldDuringWrite = {false};
    dev.nodal.io.AtomicFiles.replaceFolder(intact, folder -> {
      oldDuringWrite[0] = Files.isDirectory(old);
      copy(old, folder);
    });
    assertTrue(oldDuringWrite[0], "checkpoint.old was there while the new copy was written");
    assertFalse(Files.exists(old), "and went once the new copy was in");
    assertEquals(intact.toAbsolutePath(), Checkpoint.load(run).folder().toAbsolutePath());
  }

  /** A checkpoint folder reached through a symbolic link reads as any other, a missing file named. */
  @Test
  void aLinkedCheckpointFolderReadsAndNamesAMissingFile() throws Exception {
    Path run = trainOneEpoch();
    Path link = dir.resolve("linked");
    Files.createSymbolicLink(link, run.resolve("checkpoint"));
    assertEquals(1, Checkpoint.load(link).trainer().epochsDone());
    delete(run.resolve("checkpoint").resolve("optimizer.safetensors"));
    DataException e = assertThrows(DataException.class, () -> Checkpoint.load(link));
    assertTrue(e.getMessage().contains("optimizer.safetensors: missing from the checkpoint"), e.getMessage());
  }

  private Path trainOneEpoch() throws Exception {
    Path run = dir.resolve("run");
    TrainCommandTest.run("train", "--data", TrainCommandTest.subset().toString(), "--out", run.toString(), "--epochs", "1",
        "--batch-size", "100", "--device", "cpu", "--seed", "3");
    return run;
  }

  private static void copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) Files.copy(f, to.resolve(f.getFileName()));
    }
  }

  private static void flip(Path file, int at) {
    try {
      byte[] b = Files.readAllBytes(file);
      b[Math.min(at, b.length - 1)] ^= 0x10;
      Files.write(file, b);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void truncate(Path file, int length) {
    try {
      byte[] b = Files.readAllBytes(file);
      Files.write(file, java.util.Arrays.copyOf(b, Math.min(length, b.length)));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void delete(Path file) {
    try {
      Files.delete(file);
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  private static void deleteTree(Path p) throws IOException {
    try (Stream<Path> all = Files.walk(p)) {
      for (Path q : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
    }
  }
}
