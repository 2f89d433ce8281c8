package dev.nodal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.backend.Session;
import dev.nodal.data.DataException;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.OptimizerSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A training checkpoint: a folder holding
 *
 * <ul>
 *   <li>{@code graph.json}: the graph ({@link GraphFile});
 *   <li>{@code weights.safetensors}: every parameter and every state (such as batch norm's running
 *       statistics) by name, readable by Python's safetensors;
 *   <li>{@code optimizer.safetensors}: the optimizer's state arrays, {@code <param>:<slot index>},
 *       with the optimizer's name and step count in its metadata;
 *   <li>{@code trainer.json}: format version and the trainer's state ({@link TrainerState}): epochs
 *       done, step, seeds, the training settings and each finished epoch's figures;
 *   <li>{@code manifest.json}: the format version and the SHA-256 of each file above, written
 *       last. A file that changed after it was written (a bit flip, a truncation, an edit) is
 *       refused by name before anything in it is used.
 * </ul>
 *
 * The folder is written whole and swapped in atomically ({@link AtomicFiles#replaceFolder}), so a
 * crash leaves the previous checkpoint or the new one, never a mix.
 */
public final class Checkpoint {
  /** 2 added the manifest; checkpoints of version 1 (no manifest) are still read. */
  public static final int VERSION = 2;

  private static final List<String> FILES = List.of("graph.json", "weights.safetensors", "optimizer.safetensors",
      "trainer.json");

  private static final Logger log = LoggerFactory.getLogger(Checkpoint.class);

  private Checkpoint() {}

  /**
   * What a checkpoint holds once read.
   *
   * @param trainer the training state of trainer.json; null when the checkpoint was saved without
   *     one ({@link #save(Path, Graph, long, Session)})
   */
  public record Loaded(Graph graph, Map<String, Safetensors.Tensor> weights, Map<String, Safetensors.Tensor> optimizer,
      Map<String, String> optimizerMetadata, TrainerState trainer, Path folder) {
    /** The training state, to resume from; a {@link GraphException} that names trainer.json when it holds none. */
    public TrainerState requireTrainer() {
      if (trainer == null) {
        throw new GraphException(folder.resolve("trainer.json") + ": holds no training settings ('model' and the rest)");
      }
      return trainer;
    }

    /**
     * Sets the session's parameters and, with {@code withOptimizer}, its optimizer's state arrays
     * and step count (trainer.json's step where optimizer.safetensors, of an older checkpoint,
     * names none); the session's optimizer must be the one the checkpoint was written with.
     */
    public void restore(Session session, boolean withOptimizer) {
      if (withOptimizer) {
        Optimizer opt = session.optimizer();
        if (opt == null) throw new IllegalStateException("set the session's optimizer before restoring its state");
        String saved = optimizerMetadata.getOrDefault("optimizer", "sgd");
        if (!saved.equals(opt.name())) {
          throw new GraphException(folder + "/optimizer.safetensors holds the state of " + saved + ", not of " + opt.name());
        }
        String step = optimizerMetadata.get("step");
        opt.setStep(step != null ? Long.parseLong(step) : trainer != null ? trainer.step() : 0);
      }
      for (Param p : graph.params()) {
        Safetensors.Tensor t = weights.get(p.name());
        if (t == null) throw new GraphException(folder + "/weights.safetensors has no tensor for param '" + p.name() + "'");
        session.setParam(p, t.data());
        if (!withOptimizer) continue;
        int slots = 0;
        while (optimizer.containsKey(p.name() + ":" + slots)) slots++;
        float[][] state = new float[slots][];
        for (int s = 0; s < slots; s++) state[s] = optimizer.get(p.name() + ":" + s).data();
        session.setOptimizerState(p, state);
      }
      for (State st : graph.states()) {
        Safetensors.Tensor t = weights.get(st.name());
        if (t == null) throw new GraphException(folder + "/weights.safetensors has no tensor for state '" + st.name() + "'");
        session.setState(st, t.data());
      }
    }
  }

  /**
   * Writes the checkpoint of {@code session} (graph, weights, optimizer state) into {@code folder},
   * replacing what was there, with no training state.
   */
  public static void save(Path folder, Graph graph, long seed, Session session) throws IOException {
    write(folder, graph, seed, session, GraphFile.JSON.createObjectNode());
  }

  /**
   * Writes the checkpoint of {@code session} into {@code folder}, replacing what was there, with
   * the trainer's state as trainer.json.
   *
   * @throws IllegalArgumentException when trainer.json would be one that {@link #load} refuses
   */
  public static void save(Path folder, Graph graph, long seed, Session session, TrainerState trainer) throws IOException {
    write(folder, graph, seed, session, TrainerJson.write(java.util.Objects.requireNonNull(trainer, "trainer")));
  }

  private static void write(Path folder, Graph graph, long seed, Session session, ObjectNode trainer) throws IOException {
    Map<String, Safetensors.Tensor> weights = new LinkedHashMap<>();
    Map<String, Safetensors.Tensor> state = new LinkedHashMap<>();
    for (Param p : graph.params()) {
      weights.put(p.name(), new Safetensors.Tensor(p.shape().dims(), session.value(p)));
      float[][] slots = session.optimizer() == null ? new float[0][] : session.optimizerState(p);
      for (int s = 0; s < slots.length; s++) state.put(p.name() + ":" + s, new Safetensors.Tensor(p.shape().dims(), slots[s]));
    }
    for (State st : graph.states()) weights.put(st.name(), new Safetensors.Tensor(st.shape().dims(), session.value(st)));
    ObjectNode t = trainer;
    t.put("version", VERSION);
    try {
      CheckpointSchema.trainer(t, "trainer.json", VERSION); // what load would refuse is not written
    } catch (DataException e) {
      throw new IllegalArgumentException(e.getMessage(), e);
    }
    byte[] graphJson = GraphFile.write(graph, seed, session.optimizer() == null ? null : session.optimizer().spec())
        .getBytes(StandardCharsets.UTF_8);
    byte[] weightBytes = Safetensors.encode(weights, Map.of("producer", "nodal", "graph", "graph.json"));
    Optimizer opt = session.optimizer();
    byte[] stateBytes = Safetensors.encode(state, opt == null ? Map.of("producer", "nodal")
        : Map.of("producer", "nodal", "optimizer", opt.name(), "step", Long.toString(opt.step())));
    byte[] trainerJson = GraphFile.JSON.writeValueAsBytes(t);
    List<byte[]> contents = List.of(graphJson, weightBytes, stateBytes, trainerJson);
    ObjectNode manifest = GraphFile.JSON.createObjectNode();
    manifest.put("version", VERSION);
    ObjectNode sums = manifest.putObject("sha256");
    for (int i = 0; i < FILES.size(); i++) sums.put(FILES.get(i), sha256(contents.get(i)));
    byte[] manifestJson = GraphFile.JSON.writeValueAsBytes(manifest);
    AtomicFiles.replaceFolder(folder, dir -> {
      for (int i = 0; i < FILES.size(); i++) Files.write(dir.resolve(FILES.get(i)), contents.get(i));
      Files.write(dir.resolve("manifest.json"), manifestJson);
    });
  }

  /**
   * Reads a checkpoint folder, or the {@code checkpoint} folder of a run folder. Errors name the
   * file at fault.
   *
   * <p>Safe while a trainer writes the same folder: every file is read from one complete copy (the
   * newest of {@code checkpoint.new}, {@code checkpoint} and {@code checkpoint.old}), and a copy
   * that a writer renamed or deleted during the read is read again from the copy that took its
   * place, so a reader gets the checkpoint before a save or the one after it, whole. A copy that
   * is damaged (it fails its manifest or cannot be parsed) is passed over for the next older one,
   * with a warning that names both; when none is whole, the error is the newest one's.
   */
  public static Loaded load(Path path) throws DataException {
    for (int attempt = 0; attempt < 100; attempt++) {
      Path target = AtomicFiles.readable(path.resolve("checkpoint")) != null ? path.resolve("checkpoint") : path;
      List<Path> copies = AtomicFiles.copies(target);
      List<Object> seen = AtomicFiles.identities(copies);
      DataException newest = null;
      if (copies.stream().noneMatch(c -> Files.isRegularFile(c.resolve("graph.json")))) {
        newest = new DataException(path + ": no checkpoint here (expected graph.json, weights.safetensors, "
            + "optimizer.safetensors and trainer.json, in this folder or in its checkpoint/ folder)");
      } else {
        for (Path copy : copies) {
          try {
            Snapshot snap = Snapshot.read(copy);
            if (snap == null) { // a writer swapped copies during the read: look again
              newest = null;
              break;
            }
            Loaded loaded = parse(snap);
            if (newest != null) log.warn("{}; reading the older, intact copy {} instead", newest.getMessage(), copy);
            return loaded;
          } catch (DataException e) {
            if (newest == null) newest = e;
          }
        }
      }
      List<Path> now = AtomicFiles.copies(target);
      if (newest != null && now.equals(copies) && AtomicFiles.identities(now).equals(seen)) throw newest;
    }
    throw new DataException(path + ": the checkpoint changed during each of 100 reads; is a writer saving it without "
        + "pause?");
  }

  /**
   * Every file of one copy of a checkpoint, read into memory through one open handle on the
   * folder ({@link AtomicFiles#readWhole}), so that the files are known to come from one save.
   */
  private record Snapshot(Path folder, Map<String, byte[]> files) {
    /** The copy's files; null when the copy was renamed or deleted during the read. */
    static Snapshot read(Path folder) throws DataException {
      List<String> names = new java.util.ArrayList<>(FILES);
      names.add("manifest.json");
      try {
        Map<String, byte[]> files = AtomicFiles.readWhole(folder, names);
        return files == null ? null : new Snapshot(folder, files);
      } catch (IOException e) {
        throw new DataException(folder + ": unreadable: " + e.getMessage(), e);
      }
    }

    Path path(String name) {
      return folder.resolve(name);
    }

    String text(String name) {
      return new String(files.get(name), StandardCharsets.UTF_8);
    }
  }

  private static Loaded parse(Snapshot snap) throws DataException {
    Path folder = snap.folder();
    if (!snap.files().containsKey("graph.json")) throw new DataException(snap.path("graph.json") + ": missing from the checkpoint");
    try {
      verify(snap);
      Path graphFile = snap.path("graph.json");
      JsonNode graphJson = StrictJson.parse(snap.text("graph.json"), graphFile.toString());
      Graph graph = GraphFile.read(graphJson, graphFile.toString());
      Safetensors.Contents weights = Safetensors.decode(snap.files().get("weights.safetensors"),
          snap.path("weights.safetensors").toString());
      Safetensors.Contents optimizer = Safetensors.decode(snap.files().get("optimizer.safetensors"),
          snap.path("optimizer.safetensors").toString());
      Path trainerFile = snap.path("trainer.json");
      JsonNode trainer = StrictJson.parse(snap.text("trainer.json"), trainerFile.toString());
      check(folder, graphJson, graph, weights, optimizer, trainer);
      return new Loaded(graph, weights.tensors(), optimizer.tensors(), optimizer.metadata(),
          TrainerJson.read(trainer, trainerFile.toString()), folder);
    } catch (DataException e) {
      throw e;
    } catch (GraphException e) { // its message names graph.json and the node
      throw new DataException(e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw new DataException(folder + ": unreadable checkpoint: " + (e.getMessage() != null ? e.getMessage() : e), e);
    }
  }

  /**
   * Checks the parsed files of the checkpoint in {@code folder} against their schema and against
   * each other ({@link CheckpointSchema}); errors name the file and the key, node or tensor.
   */
  static void check(Path folder, JsonNode graphJson, Graph graph, Safetensors.Contents weights,
      Safetensors.Contents optimizer, JsonNode trainer) throws DataException {
    String graphFile = folder.resolve("graph.json").toString(), trainerFile = folder.resolve("trainer.json").toString();
    CheckpointSchema.trainer(trainer, trainerFile, VERSION);
    CheckpointSchema.weights(graph, weights, folder.resolve("weights.safetensors").toString());
    OptimizerSpec graphOptimizer = graphJson.has("optimizer") ? GraphFile.optimizer(graphJson, graphFile) : null;
    CheckpointSchema.optimizer(graph, graphOptimizer, optimizer, trainer, folder.resolve("optimizer.safetensors").toString(),
        graphFile, trainerFile);
    CheckpointSchema.seeds(graphJson, trainer, graphFile, trainerFile);
  }

  /** Checks every file against manifest.json; a folder without one is of version 1. */
  private static void verify(Snapshot snap) throws IOException, DataException {
    Path manifestFile = snap.path("manifest.json");
    byte[] manifestBytes = snap.files().get("manifest.json");
    if (manifestBytes == null) {
      byte[] trainer = snap.files().get("trainer.json");
      if (trainer != null && GraphFile.JSON.readTree(trainer).path("version").asInt() == 1) {
        for (String f : FILES) {
          if (!snap.files().containsKey(f)) throw new DataException(snap.path(f) + ": missing from the checkpoint");
        }
        return; // written before manifests existed
      }
      throw new DataException(manifestFile + ": missing; this checkpoint cannot be checked");
    }
    JsonNode manifest = StrictJson.parse(new String(manifestBytes, StandardCharsets.UTF_8), manifestFile.toString());
    CheckpointSchema.manifest(manifest, manifestFile.toString(), VERSION, FILES);
    for (String f : FILES) {
      String expected = manifest.path("sha256").path(f).asText("");
      byte[] content = snap.files().get(f);
      if (content == null) throw new DataException(snap.path(f) + ": missing from the checkpoint");
      if (!expected.equals(sha256(content))) {
        throw new DataException(snap.path(f) + ": its SHA-256 differs from the one in manifest.json: the file changed after "
            + "it was written (corrupt or edited)");
      }
    }
  }

  private static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
