package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nodal.backend.Session;
import dev.nodal.data.DataException;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointValidationTest {
  @TempDir Path dir;

  @Test
  void nonFiniteWeightsAreRefusedNamingTheTensor() throws Exception {
    Graph g = Models.mlp(1, 3, 4, 2);
    Path folder = dir.resolve("checkpoint");
    try (Session s = Backends.cpu().compile(g, 2)) {
      Checkpoint.save(folder, g, 1, s, new ObjectMapper().createObjectNode());
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
