package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.backend.Session;
import dev.nodal.data.DataException;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Adam;
import dev.nodal.testkit.Models;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 10,000 mutated checkpoints, every one refused with a {@link DataException} that names a file:
 * bit flips and truncations of every file (caught by the manifest), and edits that keep the
 * manifest consistent so that the readers themselves must refuse them: huge header lengths,
 * out-of-range or overlapping offsets, overflowing shapes, unknown dtypes, a graph that does not
 * match the weights or whose shape wraps past an int, a corrupt trainer.json or one with negative
 * counts, a fractional version, a text seed, a key given twice or misspelt.
 */
class CheckpointFuzzTest {
  private static final String[] FILES = {"graph.json", "weights.safetensors", "optimizer.safetensors", "trainer.json",
      "manifest.json"};
  private static final int MUTATIONS = 10_000;
  @TempDir Path dir;

  @Test
  void everyMutatedCheckpointIsRefused() throws Exception {
    Graph g = Models.mlp(1, 5, 8, 3);
    Path base = dir.resolve("base");
    try (Session s = Backends.cpu().compile(g, 4)) {
      s.setOptimizer(Adam.adam().build());
      s.setInput((Input) g.node("x"), Models.uniform(20, 1));
      s.setInput((Input) g.node("y"), Models.classes(4, 3, 2));
      s.trainStep();
      TrainerSettings settings = TrainerSettings.builder().epochs(1).optimizer(Adam.adam().spec()).seed(1).build();
      Checkpoint.save(base, g, 1, s, TrainerState.of(settings, 1, 1));
    }
    byte[][] original = new byte[FILES.length][];
    for (int f = 0; f < FILES.length; f++) original[f] = Files.readAllBytes(base.resolve(FILES[f]));
    Checkpoint.load(base); // the unmutated checkpoint loads
    byte[] otherGraph = GraphFile.write(Models.mlp(1, 5, 9, 3), 1).getBytes(StandardCharsets.UTF_8);

    Path work = dir.resolve("work");
    Files.createDirectories(work);
    SplittableRandom r = new SplittableRandom(2026);
    int rejected = 0, unexpected = 0, outOfMemory = 0, unnamed = 0;
    List<String> surprises = new ArrayList<>();
    for (int i = 0; i < MUTATIONS; i++) {
      int f = r.nextInt(FILES.length);
      byte[] mutated;
      boolean keepManifest;
      do {
        keepManifest = f < 4 && r.nextInt(3) == 0; // a third of the edits pass the manifest
        mutated = keepManifest ? semantic(f, original[f], otherGraph, r) : raw(original[f], r);
      } while (Arrays.equals(mutated, original[f]));
      for (int k = 0; k < FILES.length; k++) Files.write(work.resolve(FILES[k]), k == f ? mutated : original[k]);
      if (keepManifest) Files.write(work.resolve("manifest.json"), manifest(work));
      try {
        Checkpoint.load(work);
        surprises.add("mutation " + i + " of " + FILES[f] + " loaded");
      } catch (DataException e) {
        rejected++;
        if (!e.getMessage().contains(work.toString())) {
          unnamed++;
          surprises.add("mutation " + i + ": message names no file: " + e.getMessage());
        }
      } catch (OutOfMemoryError e) {
        outOfMemory++;
        surprises.add("mutation " + i + " of " + FILES[f] + ": " + e);
      } catch (RuntimeException e) {
        unexpected++;
        surprises.add("mutation " + i + " of " + FILES[f] + ": " + e);
      }
    }
    System.out.printf("%d mutated checkpoints: %d rejected, %d unexpected exceptions, %d OutOfMemoryErrors, "
        + "%d messages without a file name%n", MUTATIONS, rejected, unexpected, outOfMemory, unnamed);
    assertTrue(surprises.isEmpty(), surprises.size() + " surprises; first: " + surprises.subList(0, Math.min(5, surprises.size())));
    assertEquals(MUTATIONS, rejected);
  }

  /** Bit flips (1 to 3) or a truncation anywhere in the file. */
  private static byte[] raw(byte[] file, SplittableRandom r) {
    if (r.nextInt(4) == 0) return Arrays.copyOf(file, r.nextInt(file.length));
    byte[] m = file.clone();
    for (int k = 1 + r.nextInt(3); k > 0; k--) m[r.nextInt(m.length)] ^= (byte) (1 << r.nextInt(8));
    return m;
  }

  /** An edit that a consistent manifest lets through to the file's own reader. */
  private static byte[] semantic(int f, byte[] file, byte[] otherGraph, SplittableRandom r) {
    switch (FILES[f]) {
      case "graph.json": {
        // A shape that asInt() wrapped back to 8, a seed as text, a dense layer's key misspelt.
        String text = new String(file, StandardCharsets.UTF_8);
        String[] bad = {"{\"version\": 1, \"nodes\": [{\"name\": 7}]}", text.replace("[ 5, 8 ]", "[ 5, 4294967304 ]"),
            text.replace("\"seed\" : 1", "\"seed\" : \"1\""), text.replaceFirst("\"inputs\"", "\"input\"")};
        int k = r.nextInt(bad.length + 1);
        return k == bad.length ? otherGraph : bad[k].getBytes(StandardCharsets.UTF_8);
      }
      case "trainer.json":
        String[] bad = {"[]", "{\"version\": 99}", "{\"version\": \"two\"}", "null", "", "{\"version\": 2.5}",
            "{\"version\": 2, \"epochsDone\": -1}", "{\"version\": 2, \"step\": -5}", "{\"version\": 2, \"seed\": \"abc\"}",
            "{\"version\": 2, \"epochsDone\": 1, \"epochsDone\": 1}", "{\"version\": 2, \"epochsdone\": 1}"};
        return bad[r.nextInt(bad.length)].getBytes(StandardCharsets.UTF_8);
      default:
        return safetensorsEdit(file, r);
    }
  }

  /** Header lengths up to 2^64 − 1, offsets out of range or overlapping, overflowing shapes, other dtypes. */
  private static byte[] safetensorsEdit(byte[] file, SplittableRandom r) {
    ByteBuffer b = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN);
    long n = b.getLong(0);
    String header = new String(file, 8, (int) n, StandardCharsets.UTF_8);
    byte[] data = Arrays.copyOfRange(file, (int) (8 + n), file.length);
    switch (r.nextInt(6)) {
      case 0: {
        long[] lengths = {-1L, Long.MAX_VALUE, 1L << 32, 1L << 31, n + 1 + r.nextInt(1000), 0, 1};
        byte[] m = file.clone();
        ByteBuffer.wrap(m).order(ByteOrder.LITTLE_ENDIAN).putLong(0, lengths[r.nextInt(lengths.length)]);
        return m;
      }
      case 1:
        header = header.replaceFirst("\"data_offsets\":\\[(\\d+),(\\d+)\\]", "\"data_offsets\":[$1," + (1L << 40) + "]");
        break;
      case 2:
        header = overlap(header);
        break;
      case 3:
        header = header.replaceFirst("\"shape\":\\[[^\\]]*\\]", "\"shape\":[2147483647,2147483647,8]");
        break;
      case 4:
        String[] types = {"F16", "Q4", "BF16", "", "f32"};
        header = header.replaceFirst("\"F32\"", "\"" + types[r.nextInt(types.length)] + "\"");
        break;
      default:
        header = header.replaceFirst("\"shape\":\\[(\\d+)", "\"shape\":[-$1");
        break;
    }
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    ByteBuffer out = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(h.length).put(h).put(data);
    return out.array();
  }

  /** Moves the last tensor's offsets onto the first's: two tensors over the same bytes. */
  private static String overlap(String header) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("\"data_offsets\":\\[(\\d+),(\\d+)\\]").matcher(header);
    List<int[]> spans = new ArrayList<>();
    while (m.find()) spans.add(new int[] {m.start(), m.end(), Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
    if (spans.size() < 2) return header + " ";
    int[] last = spans.get(spans.size() - 1);
    int len = last[3] - last[2];
    return header.substring(0, last[0]) + "\"data_offsets\":[0," + len + "]" + header.substring(last[1]);
  }

  /** A manifest that agrees with the files now in {@code folder}. */
  private static byte[] manifest(Path folder) throws Exception {
    ObjectMapper json = new ObjectMapper();
    ObjectNode m = json.createObjectNode().put("version", Checkpoint.VERSION);
    ObjectNode sums = m.putObject("sha256");
    for (int k = 0; k < 4; k++) {
      sums.put(FILES[k], HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
          .digest(Files.readAllBytes(folder.resolve(FILES[k])))));
    }
    return json.writeValueAsBytes(m);
  }
}
