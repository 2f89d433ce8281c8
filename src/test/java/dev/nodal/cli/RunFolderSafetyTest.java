package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.train.RunFolder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run is never lost: no silent overwrite, no two writers, no shared default folder. */
class RunFolderSafetyTest {
  @TempDir Path dir;

  private CliBehaviourTest.Outcome train(Path out, String... extra) throws Exception {
    String[] base = {"train", "--data", TrainCommandTest.subset().toString(), "--out", out.toString(), "--epochs", "1",
        "--device", "cpu"};
    String[] args = java.util.Arrays.copyOf(base, base.length + extra.length);
    System.arraycopy(extra, 0, args, base.length, extra.length);
    return CliBehaviourTest.run(args);
  }

  @Test
  void anOutThatHoldsARunIsRefusedUnlessResumedOrForced() throws Exception {
    Path out = dir.resolve("run");
    assertEquals(0, train(out).code());
    byte[] weights = Files.readAllBytes(out.resolve("checkpoint/weights.safetensors"));
    CliBehaviourTest.Outcome again = train(out, "--seed", "7");
    assertEquals(1, again.code());
    assertTrue(again.err().contains("holds a run already") && again.err().contains("--resume " + out)
        && again.err().contains("--force"), again.err());
    assertArrayEquals(weights, Files.readAllBytes(out.resolve("checkpoint/weights.safetensors")), "nothing was touched");
    assertEquals(0, train(out, "--seed", "7", "--force").code());
    assertFalse(java.util.Arrays.equals(weights, Files.readAllBytes(out.resolve("checkpoint/weights.safetensors"))));
  }

  @Test
  void aSecondWriterFailsAtOnceNamingTheHolder() throws Exception {
    Path out = dir.resolve("busy");
    try (RunFolder held = new RunFolder(out, 0)) {
      CliBehaviourTest.Outcome r = train(out);
      assertEquals(1, r.code());
      assertTrue(r.err().contains("is in use by process " + ProcessHandle.current().pid()), r.err());
      assertFalse(Files.exists(out.resolve("metrics.csv")), "the second writer wrote nothing");
    }
    assertEquals(0, train(out).code(), "free again once the holder closed it");
  }

  @Test
  void defaultRunFoldersAreUniqueEvenWithinOneSecond() throws Exception {
    Path a = RunFolder.createUnique(dir, "20261127-120000");
    Path b = RunFolder.createUnique(dir, "20261127-120000");
    assertNotEquals(a, b);
    assertEquals("20261127-120000-2", b.getFileName().toString());
  }

  @Test
  void missingDataLeavesNoEmptyRunFolder() {
    Path out = dir.resolve("never");
    CliBehaviourTest.Outcome r = CliBehaviourTest.run("train", "--data", dir.resolve("nowhere").toString(), "--out",
        out.toString(), "--device", "cpu");
    assertEquals(1, r.code());
    assertFalse(Files.exists(out), "the run folder made for this run is gone again");
  }
}
