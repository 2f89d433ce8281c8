package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.backend.Session;
import dev.nodal.data.DataException;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Param;
import dev.nodal.optim.Schedule;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import dev.nodal.train.ModelZoo;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointValidationTest {
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir Path dir;

  @Test
  void nonFiniteWeightsAreRefusedNamingTheTensor() throws Exception {
    Graph g = Models.mlp(1, 3, 4, 2);
    Path folder = dir.resolve("checkpoint");
    try (Session s = Backends.cpu().compile(g, 2)) {
      Checkpoint.save(folder, g, 1, s);
    }
    Map<String, Safetensors.Tensor> weights = new LinkedHashMap<>(Safetensors.read(folder.resolve("weights.safetensors")).tensors());
    Param b = (Param) g.node("fc2.b");
    float[] bad = weights.get(b.name()).data().clone();
    bad[1] = Float.POSITIVE_INFINITY;
    weights.put(b.name(), new Safetensors.Tensor(b.shape().dims(), bad));
    byte[] bytes = Safetensors.encode(weights, Map.of());
    Files.write(folder.resolve("weights.safetensors"), bytes);
    // As another tool would write it: the manifest agrees, so only the values are wrong.
    var manifest = (com.fasterxml.jackson.databind.node.ObjectNode) new ObjectMapper().readTree(
        folder.resolve("manifest.json").toFile());
    ((com.fasterxml.jackson.databind.node.ObjectNode) manifest.get("sha256")).put("weights.safetensors",
        java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(bytes)));
    Files.write(folder.resolve("manifest.json"), new ObjectMapper().writeValueAsBytes(manifest));
    DataException e = assertThrows(DataException.class, () -> Checkpoint.load(folder));
    assertEquals(folder.resolve("weights.safetensors") + ": param 'fc2.b' holds Infinity at element 1; a checkpoint's "
        + "weights must be finite", e.getMessage());
  }

  /** A checkpoint of {@link Models#mlp} with SGD's momentum slots and the settings {@code settings} wrote, epoch 1 done. */
  private Graph saveMlp(Path folder, String model) throws Exception {
    Graph g = Models.mlp(1, 3, 4, 2);
    try (Session s = Backends.cpu().compile(g, 2)) {
      s.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
      TrainerSettings settings = TrainerSettings.builder().model(model).epochs(3).batchSize(2).seed(1).build();
      Checkpoint.save(folder, g, 1, s, TrainerState.of(settings, 1, 4));
    }
    return g;
  }

  /** Writes {@code bytes} as {@code file} of the checkpoint and recomputes manifest.json, as a careful hand edit would. */
  private static void edit(Path folder, String file, byte[] bytes) throws Exception {
    Files.write(folder.resolve(file), bytes);
    ObjectNode manifest = (ObjectNode) JSON.readTree(folder.resolve("manifest.json").toFile());
    ((ObjectNode) manifest.get("sha256")).put(file, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
    Files.write(folder.resolve("manifest.json"), JSON.writeValueAsBytes(manifest));
  }

  private static byte[] trainerWith(Path folder, String key, JsonNode value) throws Exception {
    ObjectNode t = (ObjectNode) JSON.readTree(folder.resolve("trainer.json").toFile());
    t.set(key, value);
    return JSON.writeValueAsBytes(t);
  }

  /**
   * epochsDone -1 rewrote metrics.csv from epoch 0 on --resume; a step of -5, a seed that is not a
   * number, more epochs done than planned and a misspelt key passed too. Each is refused with the
   * file and the key.
   */
  @Test
  void countsMustNotBeNegativeSeedsMustBeNumbersAndKeysKnown() throws Exception {
    Path folder = dir.resolve("checkpoint");
    saveMlp(folder, "tiny mlp");
    Path trainer = folder.resolve("trainer.json");
    Map<String, JsonNode> edits = new LinkedHashMap<>();
    edits.put("'epochsDone': -1 is out of range [0, 2147483647]", JSON.getNodeFactory().numberNode(-1));
    edits.put("'step': -5 is out of range [0, 9223372036854775807]", JSON.getNodeFactory().numberNode(-5));
    edits.put("'seed': text \"abc\" where an integer belongs", JSON.getNodeFactory().textNode("abc"));
    edits.put("'batchSize': fractional number 2.5 where an integer belongs", JSON.getNodeFactory().numberNode(2.5));
    edits.put("'epochsDone' is 4, past 'epochs' 3", JSON.getNodeFactory().numberNode(4));
    for (Map.Entry<String, JsonNode> e : edits.entrySet()) {
      saveMlp(folder, "tiny mlp");
      String key = e.getKey().substring(1, e.getKey().indexOf('\'', 1));
      edit(folder, "trainer.json", trainerWith(folder, key, e.getValue()));
      DataException x = assertThrows(DataException.class, () -> Checkpoint.load(folder), e.getKey());
      assertEquals(trainer + ": " + e.getKey(), x.getMessage());
    }
    saveMlp(folder, "tiny mlp");
    edit(folder, "trainer.json", trainerWith(folder, "epochDone", JSON.getNodeFactory().numberNode(1)));
    assertTrue(assertThrows(DataException.class, () -> Checkpoint.load(folder)).getMessage()
        .startsWith(trainer + ": unknown key 'epochDone'; known: ["));
  }

  /** The optimizer's slots must have their param's shape and be as many as the optimizer keeps. */
  @Test
  void aReshapedOrMissingOptimizerSlotIsRefused() throws Exception {
    Path folder = dir.resolve("checkpoint");
    saveMlp(folder, "tiny mlp");
    Safetensors.Contents state = Safetensors.read(folder.resolve("optimizer.safetensors"));
    Map<String, Safetensors.Tensor> reshaped = new LinkedHashMap<>(state.tensors());
    reshaped.put("fc1.W:0", new Safetensors.Tensor(new int[] {4, 3}, state.tensors().get("fc1.W:0").data()));
    edit(folder, "optimizer.safetensors", Safetensors.encode(reshaped, state.metadata()));
    assertEquals(folder.resolve("optimizer.safetensors") + ": state slot 'fc1.W:0' has shape [4, 3]; param 'fc1.W' is [3, 4]",
        assertThrows(DataException.class, () -> Checkpoint.load(folder)).getMessage());
    Map<String, Safetensors.Tensor> extra = new LinkedHashMap<>(state.tensors());
    extra.put("fc1.W:1", state.tensors().get("fc1.W:0"));
    edit(folder, "optimizer.safetensors", Safetensors.encode(extra, state.metadata()));
    assertTrue(assertThrows(DataException.class, () -> Checkpoint.load(folder)).getMessage()
        .startsWith(folder.resolve("optimizer.safetensors") + ": tensor 'fc1.W:1' is no state slot: "));
  }

  /**
   * A model name is a label: the checkpoint's graph is what trains, and the name is given as the
   * zoo model's only when the graph is that model (the log used to take it at its word).
   */
  @Test
  void aModelNameIsALabelClaimedOnlyWhenTheGraphIsTheZoos() throws Exception {
    Path folder = dir.resolve("checkpoint");
    Graph g = saveMlp(folder, "tiny mlp"); // not a zoo name
    String label = Checkpoint.load(folder).requireTrainer().settings().model();
    assertEquals("a graph labelled 'tiny mlp'", ModelZoo.describe(label, g));
    saveMlp(folder, "mlp"); // a zoo name, but not the zoo's graph
    String claimed = Checkpoint.load(folder).requireTrainer().settings().model();
    assertEquals("a graph labelled 'mlp' (not the zoo's mlp: node 'fc1.W' has 'shape' [3,4], the zoo's [3,256])",
        ModelZoo.describe(claimed, g));
    Graph zoo = ModelZoo.build("mlp", 1, 784, 10);
    assertEquals("mlp", ModelZoo.describe(claimed, zoo));
  }

  /**
   * Checkpoints of version 1 (no manifest) with trainer.json's first format (SGD's fields and the
   * schedule inside "optimizer"), written before graph.json named its optimizer, still load and
   * resume with their settings; and are checked like the others.
   */
  @Test
  void checkpointsOfVersion1WithTheFirstTrainerFormatStillLoadAndAreChecked() throws Exception {
    Path folder = dir.resolve("checkpoint");
    Graph g = saveMlp(folder, "tiny mlp");
    Safetensors.Contents state = Safetensors.read(folder.resolve("optimizer.safetensors"));
    Files.write(folder.resolve("optimizer.safetensors"), Safetensors.encode(state.tensors(), Map.of("producer", "nodal")));
    Files.writeString(folder.resolve("graph.json"), GraphFile.write(g, 1));
    String first = "{\"model\": \"tiny mlp\", \"epochs\": 3, \"batchSize\": 2, \"seed\": 1, \"optimizer\": {\"name\": \"sgd\", "
        + "\"learningRate\": 0.05, \"momentum\": 0.9, \"weightDecay\": 0.0, \"schedule\": \"cosine\"}, \"normalisation\": "
        + "\"pixel / 255\", \"epochsDone\": 1, \"step\": 4, \"shuffleSeed\": 1, \"testAccuracy\": 0.5, \"testLoss\": 0.69, "
        + "\"device\": \"cpu\", \"version\": 1}";
    Files.writeString(folder.resolve("trainer.json"), first);
    Files.delete(folder.resolve("manifest.json"));
    Checkpoint.Loaded l = Checkpoint.load(folder);
    TrainerSettings settings = l.requireTrainer().settings();
    assertEquals(Sgd.builder().learningRate(0.05f).momentum(0.9f).spec(), settings.optimizer());
    assertEquals(new Schedule("cosine", Map.of()), settings.schedule());
    assertEquals(4, l.trainer().step());
    try (Session s = Backends.cpu().compile(l.graph(), 2)) {
      s.setOptimizer(settings.optimizer().make());
      l.restore(s, true);
      assertEquals(1, s.optimizerState((Param) l.graph().node("fc1.W")).length);
      assertEquals(4, s.optimizer().step(), "optimizer.safetensors names no step: trainer.json's counts, for the schedule");
    }
    Files.writeString(folder.resolve("trainer.json"), first.replace("\"learningRate\"", "\"learningrate\""));
    assertTrue(assertThrows(DataException.class, () -> Checkpoint.load(folder)).getMessage()
        .startsWith(folder.resolve("trainer.json") + ": 'optimizer' (first format: SGD's fields): unknown key 'learningrate'"));
  }

  @Test
  void aBatchTooLargeForOneBufferIsRefusedAtCompileTime() {
    Graph g = Models.mlp(1, 784, 16, 10);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> Backends.cpu().compile(g, 100_000_000));
    assertTrue(e.getMessage().startsWith("input 'x': 100000000 examples of 784 values make 78,400,000,000 floats"),
        e.getMessage());
    assertTrue(e.getMessage().endsWith("compile for a smaller batch (maxBatch, --batch-size)"), e.getMessage());
  }
}
