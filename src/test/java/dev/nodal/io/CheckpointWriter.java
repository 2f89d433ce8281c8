package dev.nodal.io;

import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import dev.nodal.optim.Sgd;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * The body of a child JVM for {@link CheckpointKillTest}: continues from the checkpoint in
 * {@code args[0]} (if any) and saves checkpoints 1, 2, 3, ... after it, each with every weight
 * equal to its number and that number as "step" in trainer.json; {@code args[1]} saves, or
 * forever when it is 0.
 */
public final class CheckpointWriter {
  private CheckpointWriter() {}

  static Graph graph() {
    return Models.mlp(1, 200, 300, 10); // about 63,000 weights: each save takes a while
  }

  /** A trainer's state that says {@code step} alone, for a session without an optimizer. */
  static TrainerState atStep(long step) {
    return TrainerState.of(TrainerSettings.builder().seed(1).optimizer(Sgd.builder().spec()).build(), 0, step);
  }

  public static void main(String[] args) throws Exception {
    Path folder = Path.of(args[0]);
    long saves = Long.parseLong(args[1]);
    Graph g = graph();
    long step = AtomicFiles.readable(folder) == null ? 0 : Checkpoint.load(folder).trainer().step();
    try (Session s = Backends.cpu().compile(g, 1)) {
      for (long n = 0; saves == 0 || n < saves; n++) {
        step++;
        for (Param p : g.params()) {
          float[] v = new float[p.shape().exampleSize()];
          Arrays.fill(v, step);
          s.setParam(p, v);
        }
        Checkpoint.save(folder, g, 1, s, atStep(step));
      }
    }
  }
}
