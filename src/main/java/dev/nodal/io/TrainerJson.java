package dev.nodal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.data.DataException;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;

/**
 * trainer.json to and from a {@link TrainerState}: the one place that knows its keys. The keys
 * are those every checkpoint since the first has used, so checkpoints of every format read back;
 * {@link CheckpointSchema#trainer} checks a file before it is read here.
 */
final class TrainerJson {
  private TrainerJson() {}

  /** The state as trainer.json holds it, less its {@code version}. */
  static ObjectNode write(TrainerState state) {
    TrainerSettings s = state.settings();
    ObjectNode o = GraphFile.JSON.createObjectNode();
    o.put("model", s.model());
    o.put("epochs", s.epochs());
    o.put("batchSize", s.batchSize());
    o.put("seed", s.seed());
    if (s.stepsPerEpoch() > 0) o.put("stepsPerEpoch", s.stepsPerEpoch());
    ObjectNode opt = o.putObject("optimizer");
    opt.put("name", s.optimizer().name());
    opt.set("hyper", GraphFile.JSON.valueToTree(new TreeMap<>(s.optimizer().attributes())));
    ObjectNode sched = o.putObject("schedule");
    sched.put("kind", s.schedule().kind());
    sched.set("params", GraphFile.JSON.valueToTree(new TreeMap<>(s.schedule().params())));
    o.put("normalisation", CheckpointSchema.NORMALISATION);
    o.put("epochsDone", state.epochsDone());
    o.put("step", state.step());
    o.put("shuffleSeed", state.shuffleSeed());
    if (!Double.isNaN(state.testAccuracy())) o.put("testAccuracy", state.testAccuracy());
    if (!Double.isNaN(state.testLoss())) o.put("testLoss", state.testLoss());
    if (state.device() != null) o.put("device", state.device());
    if (!state.metrics().isEmpty()) {
      ArrayNode rows = o.putArray("metrics"); // with metrics.csv's column names
      for (EpochMetrics r : state.metrics()) {
        rows.addObject().put("epoch", r.epoch()).put("step", r.step()).put("loss", r.loss())
            .put("train_accuracy", r.trainAccuracy()).put("test_loss", r.testLoss()).put("test_accuracy", r.testAccuracy())
            .put("samples_per_s", r.samplesPerSecond());
      }
    }
    return o;
  }

  /**
   * The state of a trainer.json that {@link CheckpointSchema#trainer} has checked; null when it
   * holds no training settings (a checkpoint saved without a trainer's state). Keys left out read
   * as none: 0 epochs and steps, no test figures, device or metrics.
   */
  static TrainerState read(JsonNode t, String where) throws DataException {
    if (!t.has("model")) return null;
    TrainerSettings settings = new TrainerSettings(t.get("model").textValue(), t.get("epochs").intValue(),
        t.get("batchSize").intValue(), t.get("seed").longValue(), CheckpointSchema.settingsOptimizer(t, where),
        CheckpointSchema.settingsSchedule(t, where), t.path("stepsPerEpoch").asInt(0));
    List<EpochMetrics> metrics = new ArrayList<>();
    for (JsonNode r : t.path("metrics")) {
      metrics.add(new EpochMetrics(r.get("epoch").intValue(), r.get("step").longValue(), r.get("loss").doubleValue(),
          r.get("train_accuracy").doubleValue(), r.get("test_loss").doubleValue(), r.get("test_accuracy").doubleValue(),
          r.get("samples_per_s").doubleValue()));
    }
    return new TrainerState(settings, t.path("epochsDone").asInt(0), t.path("step").asLong(0),
        t.has("testAccuracy") ? t.get("testAccuracy").doubleValue() : Double.NaN,
        t.has("testLoss") ? t.get("testLoss").doubleValue() : Double.NaN,
        t.has("device") ? t.get("device").textValue() : null, metrics);
  }
}
