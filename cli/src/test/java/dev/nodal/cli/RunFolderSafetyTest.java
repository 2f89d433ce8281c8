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

  /** Devices are opened before the run folder is made: one that cannot be opened leaves no folder and no lock. */
  @Test
  void aRefusedDeviceLeavesNoRunFolder() throws Exception {
    String[][] selections = {{"--device", "opencl:9:9"}, {"--devices", "cpu,opencl:9:9"}};
    int refused = 0;
    for (String[] selection : selections) {
      Path out = dir.resolve("device-" + refused);
      CliBehaviourTest.Outcome r = CliBehaviourTest.run("train", "--data", TrainCommandTest.subset().toString(), "--out",
          out.toString(), "--epochs", "1", selection[0], selection[1]);
      assertEquals(1, r.code(), r.err());
      assertTrue(r.err().contains("opencl:9:9"), r.err());
      assertFalse(Files.exists(out), String.join(" ", selection) + ": no run folder, no stale .lock");
      refused++;
    }
    System.out.printf("train on a device that cannot be opened: %d runs refused, no folder left%n", refused);
    assertEquals(selections.length, refused);
  }

  /** The default run folder (runs/<timestamp> in the working directory): refused data leaves no runs/ behind. */
  @Test
  void refusedDataLeavesNoRunsFolder() throws Exception {
    Path work = Files.createDirectories(dir.resolve("work"));
    Path empty = Files.createDirectories(dir.resolve("no-data"));
    int refused = 0;
    for (String[] data : new String[][] {{"--data", empty.toString()}, {"--data", dir.resolve("absent").toString()}}) {
      dev.nodal.testkit.ChildJvm.Result r = dev.nodal.testkit.ChildJvm.runIn(work, dev.nodal.cli.Main.class,
          java.util.Map.of(), 120, "train", data[0], data[1], "--device", "cpu", "--epochs", "1");
      assertEquals(1, r.exitCode(), r.output());
      assertTrue(r.output().contains("--data " + data[1]), r.output());
      try (var left = Files.list(work)) {
        assertEquals(java.util.List.of(), left.toList(), "nothing is made in the working directory");
      }
      refused++;
    }
    System.out.printf("train with refused data and the default run folder: %d runs refused, no runs/ left%n", refused);
    assertEquals(2, refused);
  }
}
