package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Session;
import dev.nodal.data.DataException;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A reader sees a whole checkpoint while a trainer saves over it: at least 200 loads of a run folder
 * while another thread saves a checkpoint after another (each with every weight equal to its step),
 * and each load must succeed with weights and trainer.json of one save, never going back in steps.
 * The reader goes on until the writer has also saved at least 20 times, however the two threads
 * share the machine's cores.
 */
class CheckpointReadWhileWritingTest {
  private static final int READS = 200;
  private static final int SAVES = 20;
  private static final long DEADLINE_NANOS = 240_000_000_000L;
  @TempDir Path dir;

  @Test
  void readsDuringSavesSeeOneWholeCheckpoint() throws Exception {
    Path run = dir.resolve("run");
    Graph g = Models.mlp(1, 200, 300, 10);
    AtomicLong saves = new AtomicLong();
    AtomicBoolean stop = new AtomicBoolean();
    AtomicReference<Throwable> writerFailure = new AtomicReference<>();
    Thread writer = new Thread(() -> {
      try (Session s = Backends.cpu().compile(g, 1)) {
        for (long step = 1; !stop.get(); step++) {
          for (Param p : g.params()) {
            float[] v = new float[p.shape().exampleSize()];
            Arrays.fill(v, step);
            s.setParam(p, v);
          }
          Checkpoint.save(run.resolve("checkpoint"), g, 1, s, CheckpointWriter.atStep(step));
          saves.incrementAndGet();
        }
      } catch (Throwable t) {
        writerFailure.set(t);
      }
    }, "checkpoint-writer");
    writer.start();
    while (saves.get() == 0 && writer.isAlive()) Thread.sleep(1);

    List<String> falseAlarms = new ArrayList<>();
    long lastStep = 0, savesBefore = saves.get();
    int whole = 0, reads = 0;
    long start = System.nanoTime();
    try {
      for (int i = 0; (i < READS || saves.get() - savesBefore < SAVES) && writer.isAlive()
          && System.nanoTime() - start < DEADLINE_NANOS; i++) {
        reads++;
        try {
          Checkpoint.Loaded c = Checkpoint.load(run);
          long step = c.trainer().step();
          for (Param p : c.graph().params()) {
            for (float v : c.weights().get(p.name()).data()) {
              if (v != step) throw new IllegalStateException(p.name() + " holds " + v + " in the checkpoint of step " + step);
            }
          }
          if (step < lastStep) throw new IllegalStateException("step went back from " + lastStep + " to " + step);
          lastStep = step;
          whole++;
        } catch (DataException | RuntimeException e) {
          falseAlarms.add("read " + (i + 1) + ": " + e.getMessage());
        }
      }
    } finally {
      stop.set(true);
      writer.join();
    }
    long savesDuring = saves.get() - savesBefore;
    List<String> leftovers;
    try (var files = Files.list(run)) {
      leftovers = files.map(f -> f.getFileName().toString()).filter(n -> !n.equals("checkpoint")).toList();
    }
    System.out.printf("%d reads of a run folder during %d checkpoint saves: %d whole, %d false alarms%n", reads,
        savesDuring, whole, falseAlarms.size());
    assertEquals(null, writerFailure.get());
    assertTrue(falseAlarms.isEmpty(), falseAlarms.size() + " false alarms, the first: " + falseAlarms.stream().limit(3).toList());
    assertTrue(reads >= READS, "only " + reads + " reads in " + DEADLINE_NANOS / 1_000_000_000 + " s");
    assertEquals(reads, whole);
    assertTrue(savesDuring >= SAVES, "the writer saved " + savesDuring + " times during the reads: too few to test anything");
    assertEquals(List.of(), leftovers, "readers leave nothing behind");
  }
}
