package dev.nodal.io;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.data.DataException;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.optim.OptimizerSpec;
import dev.nodal.optim.Optimizers;
import dev.nodal.optim.Schedule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * What a checkpoint's files must hold beyond what each reader checks on its own, so that a file
 * edited by hand, with manifest.json recomputed, is refused when it is wrong: trainer.json read
 * as a schema (both of its formats), the manifest's and the safetensors files' metadata keys, the
 * optimizer's state slots, and the agreements between files (seeds, step counts, optimizer). Each
 * check takes parsed contents; every error is a {@link DataException} that names the file and the
 * key, node or tensor.
 */
final class CheckpointSchema {
  private CheckpointSchema() {}

  /** The training settings ({@link TrainerSettings}); present together or not at all. */
  private static final List<String> SETTINGS = List.of("model", "epochs", "batchSize", "seed", "optimizer");

  /** Every key of trainer.json, both formats. */
  private static final Set<String> TRAINER_KEYS = Set.of("version", "model", "epochs", "batchSize", "seed", "optimizer",
      "schedule", "normalisation", "epochsDone", "step", "shuffleSeed", "testAccuracy", "testLoss", "device", "metrics",
      "stepsPerEpoch");

  /** trainer.json's optimizer since optimizers other than SGD: a name and hyper-parameters. */
  private static final Set<String> OPTIMIZER_KEYS = Set.of("name", "hyper");

  /** trainer.json's optimizer in its first format: SGD's fields and the schedule's kind. */
  private static final Set<String> FIRST_OPTIMIZER_KEYS = Set.of("name", "learningRate", "momentum", "weightDecay",
      "schedule");

  private static final Set<String> SCHEDULE_KEYS = Set.of("kind", "params");

  /** One row of "metrics": a finished epoch's figures, as metrics.csv holds them. */
  private static final Set<String> METRIC_KEYS = Set.of("epoch", "step", "loss", "train_accuracy", "test_loss",
      "test_accuracy", "samples_per_s");

  /** The only normalisation Nodal applies to its inputs. */
  static final String NORMALISATION = "pixel / 255";

  private static final Set<String> WEIGHTS_METADATA = Set.of("producer", "graph");
  private static final Set<String> OPTIMIZER_METADATA = Set.of("producer", "optimizer", "step");

  /** manifest.json: its version and a SHA-256 for each of {@code files}, nothing else. */
  static void manifest(JsonNode m, String where, int version, List<String> files) throws DataException {
    StrictJson.keys(m, where, Set.of("version", "sha256"));
    long v = StrictJson.integer(StrictJson.required(m, "version", where), where + ": 'version'", Long.MIN_VALUE, Long.MAX_VALUE);
    if (v != version) throw new DataException(where + ": not a version " + version + " checkpoint manifest");
    JsonNode sums = StrictJson.required(m, "sha256", where);
    StrictJson.keys(sums, where + ": 'sha256'", files);
    for (String f : files) {
      String sum = StrictJson.text(StrictJson.required(sums, f, where + ": 'sha256'"), where + ": 'sha256': '" + f + "'");
      if (!sum.matches("[0-9a-f]{64}")) throw new DataException(where + ": 'sha256': '" + f + "' is not a SHA-256 in hex");
    }
  }

  /**
   * trainer.json on its own: known keys only, typed values in range, and the settings whole and
   * valid (as {@link TrainerSettings} would take them). Checkpoints of version 1 and the first
   * format of "optimizer" (SGD's fields with the schedule inside) are read as before.
   */
  static void trainer(JsonNode t, String where, int newest) throws DataException {
    StrictJson.keys(t, where, TRAINER_KEYS);
    long version = StrictJson.integer(StrictJson.required(t, "version", where), where + ": 'version'", Long.MIN_VALUE,
        Long.MAX_VALUE);
    if (version < 1 || version > newest) {
      throw new DataException(where + ": checkpoint version " + version + " is not supported (this Nodal reads " + newest + ")");
    }
    List<String> given = SETTINGS.stream().filter(t::has).toList();
    if (!given.isEmpty() || t.has("schedule")) {
      for (String k : SETTINGS) {
        if (!t.has(k)) throw new DataException(where + ": key '" + k + "' is missing; the settings " + SETTINGS + " come together");
      }
      StrictJson.text(t.get("model"), where + ": 'model'");
      int epochs = StrictJson.intValue(t.get("epochs"), where + ": 'epochs'", 1);
      StrictJson.intValue(t.get("batchSize"), where + ": 'batchSize'", 1);
      StrictJson.integer(t.get("seed"), where + ": 'seed'", Long.MIN_VALUE, Long.MAX_VALUE);
      settingsOptimizer(t, where);
      if (t.has("stepsPerEpoch")) StrictJson.intValue(t.get("stepsPerEpoch"), where + ": 'stepsPerEpoch'", 1);
      if (t.has("epochsDone")) {
        int done = StrictJson.intValue(t.get("epochsDone"), where + ": 'epochsDone'", 0);
        if (done > epochs) throw new DataException(where + ": 'epochsDone' is " + done + ", past 'epochs' " + epochs);
      }
    }
    if (t.has("normalisation")) {
      String n = StrictJson.text(t.get("normalisation"), where + ": 'normalisation'");
      if (!n.equals(NORMALISATION)) {
        throw new DataException(where + ": 'normalisation' is '" + n + "'; Nodal applies '" + NORMALISATION + "' only");
      }
    }
    int done = t.has("epochsDone") ? StrictJson.intValue(t.get("epochsDone"), where + ": 'epochsDone'", 0) : -1;
    long step = t.has("step") ? StrictJson.integer(t.get("step"), where + ": 'step'", 0, Long.MAX_VALUE) : -1;
    if (done >= 0 && step >= 0 && step < done) {
      throw new DataException(where + ": 'step' is " + step + ", fewer than the " + done + " epochs done ('epochsDone'); "
          + "every epoch takes at least one step");
    }
    if (t.has("shuffleSeed")) {
      long shuffle = StrictJson.integer(t.get("shuffleSeed"), where + ": 'shuffleSeed'", Long.MIN_VALUE, Long.MAX_VALUE);
      if (t.has("seed") && shuffle != t.get("seed").longValue()) {
        throw new DataException(where + ": 'shuffleSeed' " + shuffle + " differs from 'seed' " + t.get("seed")
            + "; batches are shuffled with the run's seed");
      }
    }
    if (t.has("testAccuracy")) StrictJson.number(t.get("testAccuracy"), where + ": 'testAccuracy'", 0, 1);
    if (t.has("testLoss")) StrictJson.number(t.get("testLoss"), where + ": 'testLoss'", -Double.MAX_VALUE, Double.MAX_VALUE);
    if (t.has("device")) StrictJson.text(t.get("device"), where + ": 'device'");
    if (t.has("metrics")) metrics(t.get("metrics"), where, done, step);
  }

  /**
   * The optimizer of the settings, in either format, as {@link TrainerJson} reads it; checks the
   * schedule beside it too.
   */
  static OptimizerSpec settingsOptimizer(JsonNode t, String where) throws DataException {
    String at = where + ": 'optimizer'";
    JsonNode o = t.get("optimizer");
    StrictJson.object(o, at);
    try {
      return o.has("hyper") ? optimizerWithSchedule(t, o, where, at) : firstFormatOptimizer(t, o, where, at);
    } catch (IllegalArgumentException e) {
      throw new DataException(at + ": " + e.getMessage());
    }
  }

  /** The current format: the optimizer's name and hyper-parameters, and a schedule beside it. */
  private static OptimizerSpec optimizerWithSchedule(JsonNode t, JsonNode o, String where, String at) throws DataException {
    StrictJson.keys(o, at, OPTIMIZER_KEYS);
    String name = StrictJson.text(StrictJson.required(o, "name", at), at + ": 'name'");
    JsonNode hyper = o.get("hyper");
    StrictJson.object(hyper, at + ": 'hyper'");
    Map<String, Object> values = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : hyper.properties()) {
      JsonNode v = e.getValue();
      // The command line's --opt values were written as the text typed, and are read back as numbers.
      if (v.isTextual()) values.put(e.getKey(), v.textValue());
      else if (v.isBoolean()) values.put(e.getKey(), v.booleanValue());
      else values.put(e.getKey(), StrictJson.number(v, at + ": 'hyper': '" + e.getKey() + "'", -Float.MAX_VALUE, Float.MAX_VALUE));
    }
    OptimizerSpec spec = Optimizers.spec(name, values);
    settingsSchedule(t, where);
    return spec;
  }

  /** The first format: SGD's fields, and the schedule's kind inside the optimizer. */
  private static OptimizerSpec firstFormatOptimizer(JsonNode t, JsonNode o, String where, String at) throws DataException {
    StrictJson.keys(o, at + " (first format: SGD's fields)", FIRST_OPTIMIZER_KEYS);
    if (t.has("schedule")) {
      throw new DataException(where + ": key 'schedule' beside an optimizer of the first format, which holds its "
          + "schedule itself ('optimizer': 'schedule')");
    }
    String name = StrictJson.text(StrictJson.required(o, "name", at), at + ": 'name'");
    if (!name.equals("sgd")) throw new DataException(at + ": 'name' is '" + name + "'; the first format is SGD's");
    Map<String, Object> values = new LinkedHashMap<>();
    values.put("lr", floatField(o, "learningRate", at));
    values.put("momentum", floatField(o, "momentum", at));
    values.put("weight_decay", floatField(o, "weightDecay", at));
    OptimizerSpec spec = Optimizers.spec("sgd", values);
    settingsSchedule(t, where);
    return spec;
  }

  /**
   * The schedule of the settings: beside the optimizer, or in the first format its kind inside
   * the optimizer (constant when it names none), with no parameters.
   */
  static Schedule settingsSchedule(JsonNode t, String where) throws DataException {
    JsonNode o = t.get("optimizer");
    if (!o.has("hyper")) {
      String at = where + ": 'optimizer': 'schedule'";
      String kind = o.has("schedule") ? StrictJson.text(o.get("schedule"), at) : "constant";
      return schedule(kind, Map.of(), at);
    }
    String sat = where + ": 'schedule'";
    JsonNode sched = StrictJson.required(t, "schedule", where);
    StrictJson.keys(sched, sat, SCHEDULE_KEYS);
    String kind = StrictJson.text(StrictJson.required(sched, "kind", sat), sat + ": 'kind'");
    JsonNode params = StrictJson.required(sched, "params", sat);
    StrictJson.object(params, sat + ": 'params'");
    Map<String, Double> p = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : params.properties()) {
      p.put(e.getKey(), StrictJson.number(e.getValue(), sat + ": 'params': '" + e.getKey() + "'", -Double.MAX_VALUE,
          Double.MAX_VALUE));
    }
    return schedule(kind, p, sat);
  }

  /** The required number {@code key} of {@code o}, as a float. */
  private static float floatField(JsonNode o, String key, String at) throws DataException {
    return (float) StrictJson.number(StrictJson.required(o, key, at), at + ": '" + key + "'", -Float.MAX_VALUE, Float.MAX_VALUE);
  }

  /** The schedule, or the error {@link Schedule} gives, naming {@code at}. */
  private static Schedule schedule(String kind, Map<String, Double> params, String at) throws DataException {
    try {
      return new Schedule(kind, params);
    } catch (IllegalArgumentException e) {
      throw new DataException(at + ": " + e.getMessage());
    }
  }

  /** "metrics": one row per finished epoch, in order, none past the epochs done or the step reached. */
  private static void metrics(JsonNode rows, String where, int done, long step) throws DataException {
    StrictJson.array(rows, where + ": 'metrics'");
    int lastEpoch = 0;
    long lastStep = -1;
    for (int i = 0; i < rows.size(); i++) {
      String at = where + ": 'metrics'[" + i + "]";
      JsonNode r = rows.get(i);
      StrictJson.keys(r, at, METRIC_KEYS);
      for (String k : METRIC_KEYS) StrictJson.required(r, k, at);
      int epoch = StrictJson.intValue(r.get("epoch"), at + ": 'epoch'", 1);
      long s = StrictJson.integer(r.get("step"), at + ": 'step'", 0, Long.MAX_VALUE);
      StrictJson.number(r.get("loss"), at + ": 'loss'", -Double.MAX_VALUE, Double.MAX_VALUE);
      StrictJson.number(r.get("test_loss"), at + ": 'test_loss'", -Double.MAX_VALUE, Double.MAX_VALUE);
      StrictJson.number(r.get("train_accuracy"), at + ": 'train_accuracy'", 0, 1);
      StrictJson.number(r.get("test_accuracy"), at + ": 'test_accuracy'", 0, 1);
      StrictJson.number(r.get("samples_per_s"), at + ": 'samples_per_s'", 0, Double.MAX_VALUE);
      if (epoch <= lastEpoch || s <= lastStep) {
        throw new DataException(at + ": epoch " + epoch + " at step " + s + " does not follow epoch " + lastEpoch
            + " at step " + lastStep + "; rows go in order, one per epoch");
      }
      if (done >= 0 && epoch > done) throw new DataException(at + ": 'epoch' " + epoch + " is past 'epochsDone' " + done);
      if (step >= 0 && s > step) throw new DataException(at + ": 'step' " + s + " is past 'step' " + step);
      lastEpoch = epoch;
      lastStep = s;
    }
  }

  /** Every param and state of the graph in weights.safetensors, of its shape, finite; no other tensor; known metadata. */
  static void weights(Graph graph, Safetensors.Contents weights, String where) throws DataException {
    metadata(weights.metadata(), where, WEIGHTS_METADATA);
    List<Node> saved = new ArrayList<>(graph.params());
    saved.addAll(graph.states());
    Set<String> names = new LinkedHashSet<>();
    for (Node p : saved) {
      names.add(p.name());
      Safetensors.Tensor t = weights.tensors().get(p.name());
      if (t == null || !Arrays.equals(t.shape(), p.shape().dims())) {
        throw new DataException(where + ": " + p.kind() + " '" + p.name() + "' "
            + (t == null ? "is missing" : "has shape " + Arrays.toString(t.shape()) + ", the graph says " + p.shape()));
      }
      finite(t, where, p.kind() + " '" + p.name() + "'", "weights");
    }
    for (String name : weights.tensors().keySet()) {
      if (!names.contains(name)) throw new DataException(where + ": tensor '" + name + "' is no param or state of the graph");
    }
  }

  /**
   * optimizer.safetensors against the graph and trainer.json: for each param exactly the slots
   * {@code <param>:0 .. <param>:k-1} of the param's shape, where k is what the optimizer keeps
   * (graph.json's optimizer, else trainer.json's, else the count the first param has); the same
   * optimizer named everywhere; a step count no greater than trainer.json's.
   *
   * @param graphOptimizer graph.json's optimizer, null when it names none
   * @param trainer trainer.json, already checked by {@link #trainer}
   */
  static void optimizer(Graph graph, OptimizerSpec graphOptimizer, Safetensors.Contents state, JsonNode trainer,
      String where, String graphWhere, String trainerWhere) throws DataException {
    metadata(state.metadata(), where, OPTIMIZER_METADATA);
    String saved = state.metadata().get("optimizer");
    if (saved != null && !Optimizers.NAMES.contains(saved)) {
      throw new DataException(where + ": __metadata__ 'optimizer' is '" + saved + "'; known: " + Optimizers.NAMES);
    }
    if (saved != null && graphOptimizer != null && !saved.equals(graphOptimizer.name())) {
      throw new DataException(where + ": holds the state of " + saved + " (__metadata__ 'optimizer'), but " + graphWhere
          + " names the optimizer " + graphOptimizer.name());
    }
    String stepText = state.metadata().get("step");
    if (stepText != null) {
      long step;
      try {
        step = stepText.matches("[0-9]+") ? Long.parseLong(stepText) : -1;
      } catch (NumberFormatException e) {
        step = -1;
      }
      if (step < 0) throw new DataException(where + ": __metadata__ 'step' is '" + stepText + "', not a count (an integer >= 0)");
      if (trainer.has("step") && step > trainer.get("step").longValue()) {
        throw new DataException(where + ": __metadata__ 'step' is " + step + ", past " + trainerWhere + "'s 'step' "
            + trainer.get("step"));
      }
    }
    OptimizerSpec trained = null;
    if (trainer.has("optimizer")) {
      JsonNode o = trainer.get("optimizer");
      String name = o.get("name").textValue();
      String settingsName = o.has("hyper") ? name : "sgd";
      String other = graphOptimizer != null ? graphOptimizer.name() : saved;
      if (other != null && !other.equals(settingsName)) {
        throw new DataException(trainerWhere + ": 'optimizer' is " + settingsName + ", but " + (graphOptimizer != null
            ? graphWhere + " names " : where + " holds the state of ") + other);
      }
      if (o.has("hyper")) trained = settingsOptimizer(trainer, trainerWhere);
    }
    int slots;
    String keeper;
    if (graphOptimizer != null) {
      slots = graphOptimizer.slots().size();
      keeper = graphWhere + "'s " + graphOptimizer.name() + " " + graphOptimizer.slots();
      if (trained != null && trained.slots().size() != slots) {
        throw new DataException(trainerWhere + ": 'optimizer' " + trained.name() + " keeps " + trained.slots().size()
            + " state slots " + trained.slots() + ", but " + keeper + " keeps " + slots);
      }
    } else if (trained != null) {
      slots = trained.slots().size();
      keeper = trainerWhere + "'s " + trained.name() + " " + trained.slots();
    } else {
      slots = 0;
      if (!graph.params().isEmpty()) while (state.tensors().containsKey(graph.params().get(0).name() + ":" + slots)) slots++;
      keeper = "param '" + (graph.params().isEmpty() ? "" : graph.params().get(0).name()) + "', the first";
    }
    Set<String> names = new LinkedHashSet<>();
    for (Param p : graph.params()) {
      for (int s = 0; s < slots; s++) {
        String name = p.name() + ":" + s;
        names.add(name);
        Safetensors.Tensor t = state.tensors().get(name);
        if (t == null) {
          throw new DataException(where + ": state slot '" + name + "' is missing: " + keeper + " keeps " + slots
              + " per param");
        }
        if (!Arrays.equals(t.shape(), p.shape().dims())) {
          throw new DataException(where + ": state slot '" + name + "' has shape " + Arrays.toString(t.shape())
              + "; param '" + p.name() + "' is " + p.shape());
        }
        finite(t, where, "state slot '" + name + "'", "optimizer state");
      }
    }
    for (String name : state.tensors().keySet()) {
      if (!names.contains(name)) {
        throw new DataException(where + ": tensor '" + name + "' is no state slot: " + keeper + " keeps " + slots
            + " per param, named <param>:0 .. <param>:" + (slots - 1));
      }
    }
  }

  /** trainer.json's seed is the graph's: the trainer builds the model and shuffles with one seed. */
  static void seeds(JsonNode graphFile, JsonNode trainer, String graphWhere, String trainerWhere) throws DataException {
    if (trainer.has("seed") && trainer.get("seed").longValue() != graphFile.get("seed").longValue()) {
      throw new DataException(trainerWhere + ": 'seed' " + trainer.get("seed") + " differs from " + graphWhere + "'s 'seed' "
          + graphFile.get("seed"));
    }
  }

  private static void metadata(Map<String, String> metadata, String where, Set<String> known) throws DataException {
    for (String k : metadata.keySet()) {
      if (!known.contains(k)) throw new DataException(where + ": unknown __metadata__ key '" + k + "'; known: " + known);
    }
  }

  private static void finite(Safetensors.Tensor t, String where, String what, String kind) throws DataException {
    float[] v = t.data();
    for (int i = 0; i < v.length; i++) {
      if (!Float.isFinite(v[i])) {
        throw new DataException(where + ": " + what + " holds " + v[i] + " at element " + i + "; a checkpoint's " + kind
            + " must be finite");
      }
    }
  }
}
