package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.data.DataException;
import dev.nodal.data.Dataset;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.train.ModelZoo;
import dev.nodal.optim.Adam;
import dev.nodal.train.RunFolder;
import dev.nodal.train.Trainer;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hand edits of a real checkpoint (a cnn-bn trained for two epochs by the {@link Trainer}, with
 * Adam), each written back with manifest.json recomputed, as a user with an editor and sha256sum
 * would: 600 wrong edits drawn from classes of mistakes (wrong types, fractions and overflows
 * where integers belong, negative counts, unknown or renamed keys at every level, a tensor or key
 * named twice, reshaped tensors, wrong slot counts, a seed
 * that is not a number, states that disagree between files, ...) must each be refused with a
 * {@link DataException} or {@link GraphException} that names the file (and the key or node where
 * one is at fault); 40 benign edits (whitespace, key order) must load and mean the same.
 *
 * <p>"Read" is what {@code nodal train --resume} reads before it trains: {@link Checkpoint#load}
 * and the trainer's state with its settings ({@link Checkpoint.Loaded#requireTrainer()}).
 */
class CheckpointHandEditTest {
  private static final String[] FILES = {"graph.json", "weights.safetensors", "optimizer.safetensors", "trainer.json"};
  private static final int EDITS = 600, BENIGN = 40;
  private static final String[] KINDS = {"wrong type", "fractional integer", "overflowing integer", "negative count",
      "unknown key", "renamed key", "duplicate key", "duplicate tensor name", "reshaped tensor", "wrong slot count",
      "non-numeric seed", "node shape", "inconsistent state", "non-finite optimizer state", "extra tensor",
      "trailing text"};
  /** Integer fields that hold a long rather than an int. */
  private static final Set<String> LONGS = Set.of("seed", "step", "shuffleSeed");
  /** Integer fields that count or size something, so must not be negative (or zero, for some). */
  private static final Set<String> COUNTS = Set.of("epochs", "batchSize", "epochsDone", "step", "epoch", "classes",
      "kernel", "stride", "groups", "patch_floats", "stride_h", "stride_w", "dilation_h", "dilation_w", "shape");
  private static final String[] UNKNOWN = {"comment", "note", "activaton", "lr_", "Epochs", "shape2", "unused"};

  private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
  private static final ObjectMapper COMPACT = new ObjectMapper();

  @TempDir Path dir;

  /**
   * One edit: the files it replaces, the files its error may name, and words its message must hold
   * (each word, or one of its alternatives split by '|').
   */
  private record Edit(String kind, Map<String, byte[]> files, Set<String> named, List<String> mention) {
    Edit(String kind, String file, byte[] bytes, String... mention) {
      this(kind, Map.of(file, bytes), Set.of(file), List.of(mention));
    }

    Edit namingAlso(String file) {
      Set<String> n = new java.util.HashSet<>(named);
      n.add(file);
      return new Edit(kind, files, n, mention);
    }
  }

  @Test
  void everyWrongHandEditIsRefusedAndBenignOnesStillLoad() throws Exception {
    Path base = trainedCheckpoint();
    Map<String, byte[]> original = new LinkedHashMap<>();
    for (String f : FILES) original.put(f, Files.readAllBytes(base.resolve(f)));
    Checkpoint.Loaded reference = read(base);

    Path work = dir.resolve("work");
    Files.createDirectories(work);
    SplittableRandom r = new SplittableRandom(2027);
    int refused = 0, accepted = 0, unexpected = 0, unnamed = 0;
    Map<String, Integer> perKind = new TreeMap<>();
    List<String> surprises = new ArrayList<>();
    for (int i = 0; i < EDITS; i++) {
      String kind = KINDS[r.nextInt(KINDS.length)];
      Edit e = wrong(kind, original, r);
      perKind.merge(kind, 1, Integer::sum);
      write(work, original, e.files());
      try {
        read(work);
        accepted++;
        surprises.add("edit " + i + " (" + kind + " of " + e.files().keySet() + ") was accepted");
      } catch (DataException | GraphException x) {
        refused++;
        String m = String.valueOf(x.getMessage());
        boolean named = e.named().stream().anyMatch(f -> m.contains(work.resolve(f).toString()));
        boolean mentioned = e.mention().stream().allMatch(w -> Arrays.stream(w.split("\\|")).anyMatch(m::contains));
        if (!named || !mentioned) {
          unnamed++;
          surprises.add("edit " + i + " (" + kind + " of " + e.files().keySet() + "): the message names "
              + (named ? "the file but not all of " + e.mention() : "none of " + e.named()) + ": " + m);
        }
      } catch (RuntimeException x) {
        unexpected++;
        surprises.add("edit " + i + " (" + kind + " of " + e.files().keySet() + "): " + x);
      }
    }

    int benignAccepted = 0;
    for (int i = 0; i < BENIGN; i++) {
      Edit e = benign(i, original, r);
      write(work, original, e.files());
      try {
        Checkpoint.Loaded l = read(work);
        String differs = differs(reference, l);
        if (differs == null) benignAccepted++;
        else surprises.add("benign edit " + i + " (" + e.kind() + ") changed the checkpoint: " + differs);
      } catch (DataException | RuntimeException x) {
        surprises.add("benign edit " + i + " (" + e.kind() + ") was refused: " + x);
      }
    }
    System.out.printf("%d hand edits: %d refused, %d accepted, %d unexpected exceptions, %d messages without the file "
        + "or key (per kind: %s); %d benign edits: %d accepted%n", EDITS, refused, accepted, unexpected, unnamed, perKind,
        BENIGN, benignAccepted);
    assertTrue(surprises.isEmpty(), surprises.size() + " surprises; first: "
        + String.join("\n", surprises.subList(0, Math.min(8, surprises.size()))));
    assertEquals(EDITS, refused);
    assertEquals(BENIGN, benignAccepted);
  }

  /** What --resume reads: the checkpoint and its trainer's state. */
  static Checkpoint.Loaded read(Path folder) throws DataException {
    Checkpoint.Loaded l = Checkpoint.load(folder);
    l.requireTrainer();
    return l;
  }

  /** A cnn-bn on 4×4 images, trained two epochs of a planned three, with its metrics rows in trainer.json. */
  private Path trainedCheckpoint() throws Exception {
    SplittableRandom r = new SplittableRandom(5);
    Dataset train = dataset("train", 64, r), test = dataset("test", 32, r);
    TrainerSettings settings = TrainerSettings.builder().model("cnn-bn").epochs(3).batchSize(16).seed(5)
        .optimizer(Adam.adam().learningRate(0.001f).spec()).build();
    Graph graph = ModelZoo.build("cnn-bn", settings.seed(), 16, 10);
    Path run = dir.resolve("run");
    List<EpochMetrics> rows;
    try (RunFolder folder = new RunFolder(run, 0)) {
      new Trainer(graph, settings, Backends.cpu(), folder).train(train, test, null, 2);
      rows = folder.rows();
    }
    // The rows that trainer.json's "metrics" holds, one per finished epoch; saved again through Checkpoint.save.
    Path checkpoint = run.resolve("checkpoint");
    Checkpoint.Loaded trained = Checkpoint.load(checkpoint);
    TrainerState trainer = trained.trainer().withMetrics(rows);
    try (Session s = Backends.cpu().compile(trained.graph(), CompileOptions.maxBatch(16))) {
      s.setOptimizer(settings.optimizer().make());
      trained.restore(s, true);
      Checkpoint.save(checkpoint, trained.graph(), settings.seed(), s, trainer);
    }
    return checkpoint;
  }

  private static Dataset dataset(String name, int n, SplittableRandom r) {
    float[] x = new float[n * 16], y = new float[n];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextDouble();
    for (int i = 0; i < n; i++) y[i] = r.nextInt(10);
    return new Dataset(name, x, y, n, 16, 10);
  }

  // ---- wrong edits ------------------------------------------------------------------------------

  private static Edit wrong(String kind, Map<String, byte[]> files, SplittableRandom r) throws Exception {
    switch (kind) {
      case "wrong type": {
        Target t = target(files, r, s -> s.parent() != null);
        JsonNode v = t.spot().value();
        List<JsonNode> others = new ArrayList<>(List.of(BooleanNode.TRUE, NullNode.instance,
            COMPACT.createArrayNode().add(1), COMPACT.createObjectNode()));
        // The command line's --opt values are written as typed, so a hyper-parameter may be text, if it reads as one.
        boolean textAllowed = t.spot().path().startsWith("trainer.json/optimizer/hyper/");
        if (!v.isTextual()) others.add(TextNode.valueOf(v.isValueNode() && !textAllowed ? v.asText() : "x"));
        else others.add(LongNode.valueOf(7));
        others.removeIf(o -> o.getNodeType() == v.getNodeType());
        return t.set(kind, others.get(r.nextInt(others.size())));
      }
      case "fractional integer": {
        Target t = target(files, r, s -> s.value().isIntegralNumber());
        long v = t.spot().value().longValue();
        return t.set(kind, DoubleNode.valueOf(r.nextBoolean() ? v + 0.5 : v)); // even 2.0 is no integer
      }
      case "overflowing integer": {
        Target t = target(files, r, s -> s.value().isIntegralNumber());
        BigInteger v = t.spot().value().bigIntegerValue();
        // An int field wraps back to its value modulo 2^32, a long one modulo 2^64.
        return t.set(kind, BigIntegerNode.valueOf(v.add(BigInteger.ONE.shiftLeft(LONGS.contains(t.spot().key()) ? 64 : 32))));
      }
      case "negative count": {
        if (r.nextInt(6) == 0) return metadata(files, "optimizer.safetensors", "step", "-" + (1 + r.nextInt(9)), kind);
        Target t = target(files, r, s -> s.value().isIntegralNumber() && s.value().longValue() >= 0
            && COUNTS.contains(s.key()) && !s.file().endsWith(".safetensors"));
        return t.set(kind, LongNode.valueOf(-1 - r.nextInt(5) - (t.spot().key().equals("shape") ? 1 : 0)));
      }
      case "unknown key": {
        Target t = target(files, r, s -> s.value().isObject() && !s.key().equals("__root__") || s.parent() == null);
        String key = UNKNOWN[r.nextInt(UNKNOWN.length)];
        ObjectNode o = (ObjectNode) t.spot().value();
        o.set(key, r.nextBoolean() ? LongNode.valueOf(1) : TextNode.valueOf("relu"));
        return t.write(kind, key);
      }
      case "renamed key": {
        Target t = target(files, r, s -> s.parent() != null && s.parent().isObject() && !s.key().equals("__root__"));
        ObjectNode o = (ObjectNode) t.spot().parent();
        String old = t.spot().key(), typo;
        do {
          typo = typo(old, r);
        } while (o.has(typo));
        Map<String, JsonNode> copy = new LinkedHashMap<>();
        o.properties().forEach(e -> copy.put(e.getKey().equals(old) ? "\u0000" : e.getKey(), e.getValue()));
        o.removeAll();
        for (Map.Entry<String, JsonNode> e : copy.entrySet()) o.set(e.getKey().equals("\u0000") ? typo : e.getKey(), e.getValue());
        return t.write(kind, old + "|" + typo);
      }
      case "duplicate key": {
        String f = r.nextBoolean() ? "trainer.json" : "graph.json";
        String text = new String(files.get(f), StandardCharsets.UTF_8);
        String[] dup = f.equals("trainer.json")
            ? new String[] {"\"epochsDone\" : 0", "\"step\" : 0", "\"seed\" : 1", "\"model\" : \"mlp\""}
            : new String[] {"\"seed\" : 1", "\"loss\" : \"logits\"", "\"version\" : 1"};
        String d = dup[r.nextInt(dup.length)];
        // First the duplicate, then the original: Jackson kept the last, so the file read as if unedited.
        return new Edit(kind, f, text.replaceFirst("\\{", "{\n  " + Matcher.quoteReplacement(d) + ",")
            .getBytes(StandardCharsets.UTF_8), d.substring(1, d.indexOf('"', 1)));
      }
      case "duplicate tensor name": {
        String f = r.nextBoolean() ? "weights.safetensors" : "optimizer.safetensors";
        Header h = Header.of(files.get(f));
        Matcher m = Pattern.compile("\"([^\"]+)\":\\{\"dtype\":\"F32\",\"shape\":\\[[^\\]]*\\],\"data_offsets\":\\[\\d+,\\d+\\]\\}")
            .matcher(h.json);
        List<int[]> at = new ArrayList<>();
        List<String> names = new ArrayList<>();
        while (m.find()) {
          at.add(new int[] {m.start(), m.end()});
          names.add(m.group(1));
        }
        int k = r.nextInt(at.size());
        String entry = h.json.substring(at.get(k)[0], at.get(k)[1]);
        return new Edit(kind, f, h.with(h.json.substring(0, at.get(k)[1]) + "," + entry + h.json.substring(at.get(k)[1])),
            names.get(k));
      }
      case "reshaped tensor": {
        String f = r.nextBoolean() ? "weights.safetensors" : "optimizer.safetensors";
        Safetensors.Contents c = Safetensors.decode(files.get(f), f);
        List<String> names = new ArrayList<>(c.tensors().keySet());
        String name = names.get(r.nextInt(names.size()));
        Header h = Header.of(files.get(f));
        ObjectNode header = (ObjectNode) COMPACT.readTree(h.json);
        ArrayNode shape = (ArrayNode) header.get(name).get("shape");
        int[] dims = new int[shape.size()];
        for (int i = 0; i < dims.length; i++) dims[i] = shape.get(i).intValue();
        int[] other = reshape(dims, r);
        shape.removeAll();
        for (int d : other) shape.add(d);
        return new Edit(kind, f, h.with(header.toString()), name);
      }
      case "wrong slot count": {
        Safetensors.Contents c = Safetensors.decode(files.get("optimizer.safetensors"), "optimizer.safetensors");
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>(c.tensors());
        List<String> params = t.keySet().stream().filter(n -> n.endsWith(":0")).map(n -> n.substring(0, n.length() - 2)).toList();
        List<String> chosen = r.nextBoolean() ? params : List.of(params.get(r.nextInt(params.size())));
        boolean fewer = r.nextBoolean();
        for (String p : chosen) {
          if (fewer) t.remove(p + ":1");
          else t.put(p + ":2", new Safetensors.Tensor(t.get(p + ":0").shape(), new float[t.get(p + ":0").data().length]));
        }
        return new Edit(kind, "optimizer.safetensors", Safetensors.encode(t, c.metadata()), "slot", ":");
      }
      case "non-numeric seed": {
        String f = r.nextBoolean() ? "graph.json" : "trainer.json";
        ObjectNode t = tree(files, f);
        String key = f.equals("trainer.json") && r.nextBoolean() ? "shuffleSeed" : "seed";
        JsonNode[] values = {TextNode.valueOf("abc"), TextNode.valueOf(t.get(key).asText()), BooleanNode.TRUE,
            NullNode.instance, DoubleNode.valueOf(5.5), COMPACT.createArrayNode(), TextNode.valueOf("")};
        t.set(key, values[r.nextInt(values.length)]);
        return new Edit(kind, f, JSON.writeValueAsBytes(t), key);
      }
      case "node shape": {
        ObjectNode g = tree(files, "graph.json");
        List<ObjectNode> applies = new ArrayList<>();
        for (JsonNode n : g.get("nodes")) if (n.has("inputs")) applies.add((ObjectNode) n);
        ObjectNode n = applies.get(r.nextInt(applies.size()));
        ArrayNode shape = (ArrayNode) n.get("shape");
        if (shape.size() < 2 || r.nextInt(3) == 0) shape.add(1 + r.nextInt(3));
        else {
          int i = 1 + r.nextInt(shape.size() - 1);
          shape.set(i, LongNode.valueOf(shape.get(i).longValue() + (r.nextBoolean() ? 1 : -1)));
        }
        return new Edit(kind, "graph.json", JSON.writeValueAsBytes(g), "'" + n.get("name").asText() + "'", "shape");
      }
      case "inconsistent state":
        return inconsistent(files, r);
      case "non-finite optimizer state": {
        Safetensors.Contents c = Safetensors.decode(files.get("optimizer.safetensors"), "optimizer.safetensors");
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>(c.tensors());
        List<String> names = new ArrayList<>(t.keySet());
        String name = names.get(r.nextInt(names.size()));
        float[] v = t.get(name).data().clone();
        float[] bad = {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY};
        v[r.nextInt(v.length)] = bad[r.nextInt(bad.length)];
        t.put(name, new Safetensors.Tensor(t.get(name).shape(), v));
        return new Edit(kind, "optimizer.safetensors", Safetensors.encode(t, c.metadata()), "'" + name + "'");
      }
      case "extra tensor": {
        String f = r.nextBoolean() ? "weights.safetensors" : "optimizer.safetensors";
        Safetensors.Contents c = Safetensors.decode(files.get(f), f);
        Map<String, Safetensors.Tensor> t = new LinkedHashMap<>(c.tensors());
        String[] names = f.startsWith("weights") ? new String[] {"fc3.W", "extra", "bn3.running_mean"}
            : new String[] {"fc1.W:7", "ghost:0", "fc1.W", "logits.b:-1"};
        String name = names[r.nextInt(names.length)];
        t.put(name, new Safetensors.Tensor(new int[] {3}, new float[3]));
        return new Edit(kind, f, Safetensors.encode(t, c.metadata()), "'" + name + "'");
      }
      case "trailing text": {
        String f = r.nextBoolean() ? "graph.json" : "trainer.json";
        String[] tails = {"{}", "x", "]", "{\"epochsDone\": 0}", "1"};
        byte[] text = files.get(f);
        byte[] tail = ("\n" + tails[r.nextInt(tails.length)]).getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(text, text.length + tail.length);
        System.arraycopy(tail, 0, out, text.length, tail.length);
        return new Edit(kind, f, out);
      }
      default:
        throw new IllegalArgumentException("no edit of kind " + kind);
    }
  }

  /** States that each file allows on its own but that disagree with another file or with sense. */
  private static Edit inconsistent(Map<String, byte[]> files, SplittableRandom r) throws Exception {
    String kind = "inconsistent state";
    ObjectNode t = tree(files, "trainer.json");
    long step = t.get("step").longValue(), seed = t.get("seed").longValue();
    int done = t.get("epochsDone").intValue();
    switch (r.nextInt(11)) {
      case 0:
        t.put("epochsDone", t.get("epochs").intValue() + 1 + r.nextInt(3));
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'epochsDone'");
      case 1:
        t.put("step", r.nextInt(done));
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'step'").namingAlso("optimizer.safetensors");
      case 2:
        t.put("seed", seed + 1 + r.nextInt(100)).put("shuffleSeed", t.get("seed").longValue());
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'seed'");
      case 3:
        t.put("shuffleSeed", seed - 1 - r.nextInt(100));
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'shuffleSeed'");
      case 4:
        return metadata(files, "optimizer.safetensors", "step", Long.toString(step + 1 + r.nextInt(5)), kind);
      case 5:
        return metadata(files, "optimizer.safetensors", "optimizer", r.nextBoolean() ? "sgd" : "adamw", kind);
      case 6:
        ((ObjectNode) t.get("optimizer")).put("name", "sgd");
        ((ObjectNode) t.get("optimizer")).set("hyper", COMPACT.createObjectNode().put("lr", 0.05).put("momentum", 0.9));
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'optimizer'");
      case 7:
        t.put("normalisation", r.nextBoolean() ? "pixel / 127.5" : "none");
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'normalisation'");
      case 8:
        t.put("testAccuracy", r.nextBoolean() ? 1.5 : -0.25);
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'testAccuracy'");
      case 9: {
        ArrayNode m = (ArrayNode) t.get("metrics");
        if (r.nextBoolean()) {
          JsonNode first = m.remove(0);
          m.add(first); // rows out of order
        } else {
          ((ObjectNode) m.get(m.size() - 1)).put("epoch", done + 1 + r.nextInt(3));
        }
        return new Edit(kind, "trainer.json", JSON.writeValueAsBytes(t), "'metrics'[");
      }
      default: {
        ObjectNode g = tree(files, "graph.json");
        ((ObjectNode) g.get("optimizer")).put("name", r.nextBoolean() ? "sgd" : "rmsprop");
        return new Edit(kind, "graph.json", JSON.writeValueAsBytes(g), "'optimizer'");
      }
    }
  }

  /** optimizer.safetensors or weights.safetensors with one metadata value replaced. */
  private static Edit metadata(Map<String, byte[]> files, String f, String key, String value, String kind) throws Exception {
    Header h = Header.of(files.get(f));
    ObjectNode header = (ObjectNode) COMPACT.readTree(h.json);
    ((ObjectNode) header.get("__metadata__")).put(key, value);
    return new Edit(kind, f, h.with(header.toString()), "'" + key + "'");
  }

  private static String typo(String key, SplittableRandom r) {
    int i = r.nextInt(key.length() + 1);
    return switch (r.nextInt(3)) {
      case 0 -> key.length() > 1 ? key.substring(0, Math.min(i, key.length() - 1)) + key.substring(Math.min(i, key.length() - 1) + 1) : key + "_";
      case 1 -> key.substring(0, i) + "_" + key.substring(i);
      default -> key + "s";
    };
  }

  /** Another shape with the same number of elements: reversed, or with a trailing 1. */
  private static int[] reshape(int[] dims, SplittableRandom r) {
    int[] reversed = new int[dims.length];
    for (int i = 0; i < dims.length; i++) reversed[i] = dims[dims.length - 1 - i];
    if (!Arrays.equals(reversed, dims) && r.nextBoolean()) return reversed;
    int[] longer = Arrays.copyOf(dims, dims.length + 1);
    longer[dims.length] = 1;
    return longer;
  }

  // ---- benign edits -----------------------------------------------------------------------------

  private static Edit benign(int i, Map<String, byte[]> files, SplittableRandom r) throws Exception {
    String json = r.nextBoolean() ? "graph.json" : "trainer.json";
    switch (i % 5) {
      case 0:
        return new Edit("compact JSON", json, COMPACT.writeValueAsBytes(tree(files, json)));
      case 1: {
        ObjectNode t = tree(files, json);
        shuffle(t, r);
        return new Edit("key order", json, JSON.writeValueAsBytes(t));
      }
      case 2: {
        String text = new String(files.get(json), StandardCharsets.UTF_8).replace("\n", "\r\n").replace(" : ", "\t:  ");
        return new Edit("whitespace", json, ("\n  " + text + "\n\n").getBytes(StandardCharsets.UTF_8));
      }
      default: {
        String f = i % 5 == 3 ? "weights.safetensors" : "optimizer.safetensors";
        Header h = Header.of(files.get(f));
        ObjectNode header = (ObjectNode) COMPACT.readTree(h.json);
        shuffle(header, r);
        String text = r.nextBoolean() ? JSON.writeValueAsString(header) : header.toString();
        return new Edit("safetensors header order and spacing", f, h.with(text + " ".repeat(8 * r.nextInt(3))));
      }
    }
  }

  /** Shuffles the keys of every object in the tree; arrays keep their order. */
  private static void shuffle(JsonNode node, SplittableRandom r) {
    if (node.isObject()) {
      ObjectNode o = (ObjectNode) node;
      List<Map.Entry<String, JsonNode>> entries = new ArrayList<>(o.properties());
      for (int i = entries.size() - 1; i > 0; i--) Collections.swap(entries, i, r.nextInt(i + 1));
      o.removeAll();
      for (Map.Entry<String, JsonNode> e : entries) o.set(e.getKey(), e.getValue());
    }
    for (JsonNode child : node) shuffle(child, r);
  }

  /** Null when {@code l} means what {@code ref} does: the same graph, tensors, metadata, and trainer state with its settings. */
  private static String differs(Checkpoint.Loaded ref, Checkpoint.Loaded l) {
    if (!GraphFile.toJson(ref.graph(), 0).equals(GraphFile.toJson(l.graph(), 0))) return "the graph";
    if (!ref.trainer().equals(l.trainer())) return "trainer.json: " + l.trainer();
    if (!ref.optimizerMetadata().equals(l.optimizerMetadata())) return "the optimizer's metadata";
    for (int k = 0; k < 2; k++) {
      Map<String, Safetensors.Tensor> a = k == 0 ? ref.weights() : ref.optimizer(), b = k == 0 ? l.weights() : l.optimizer();
      if (!a.keySet().equals(b.keySet())) return "the tensor names";
      for (String n : a.keySet()) {
        if (!Arrays.equals(a.get(n).shape(), b.get(n).shape()) || !Arrays.equals(a.get(n).data(), b.get(n).data())) {
          return "tensor " + n;
        }
      }
    }
    return null;
  }

  // ---- files ------------------------------------------------------------------------------------

  /**
   * A value somewhere in one of the files: its parent and the key that holds it (for an array's
   * element, the array's key and the index), its path from the file's name, and the graph node or
   * tensor it lies in, if any.
   */
  private record Spot(String file, JsonNode parent, String key, int index, JsonNode value, String path, String node) {}

  /** A spot chosen in a parsed file, and how to write the file back once the spot is changed. */
  private record Target(String file, JsonNode root, Header header, Spot spot) {
    Edit set(String kind, JsonNode v) throws Exception {
      if (spot.parent() instanceof ObjectNode o) o.set(spot.key(), v);
      else ((ArrayNode) spot.parent()).set(spot.index(), v);
      return write(kind);
    }

    /**
     * The file with the spot changed. Its error must name the key (or the one it was renamed to),
     * and the graph node or tensor it lies in; a node itself is named by its place in the list.
     */
    Edit write(String kind, String... extra) throws Exception {
      byte[] bytes = header != null ? header.with(root.toString()) : JSON.writeValueAsBytes(root);
      List<String> mention = new ArrayList<>(List.of(extra));
      boolean nodeItself = spot.key().equals("nodes") && spot.index() >= 0 && file.equals("graph.json");
      boolean tensorItself = header != null && spot.parent() == root;
      if (nodeItself) {
        mention.add("node ");
      } else if (!tensorItself && !spot.key().equals("__root__") && extra.length == 0) {
        mention.add(spot.key());
      }
      if (spot.node() != null && !nodeItself && !(spot.key().equals("name") && file.equals("graph.json"))) {
        mention.add("'" + spot.node() + "'");
      }
      return new Edit(kind, Map.of(file, bytes), Set.of(file), mention);
    }
  }

  /** A random spot, in a random file, that {@code wanted} accepts. */
  private static Target target(Map<String, byte[]> files, SplittableRandom r, Predicate<Spot> wanted) throws Exception {
    while (true) {
      String f = FILES[r.nextInt(FILES.length)];
      Header h = f.endsWith(".safetensors") ? Header.of(files.get(f)) : null;
      JsonNode root = COMPACT.readTree(h != null ? h.json : new String(files.get(f), StandardCharsets.UTF_8));
      List<Spot> spots = new ArrayList<>();
      collect(f, null, "__root__", -1, root, f, null, spots);
      spots.removeIf(wanted.negate());
      if (!spots.isEmpty()) return new Target(f, root, h, spots.get(r.nextInt(spots.size())));
    }
  }

  private static void collect(String file, JsonNode parent, String key, int index, JsonNode v, String path, String node,
      List<Spot> out) {
    if (file.equals("graph.json") && key.equals("nodes") && index >= 0 && v.has("name")) node = v.get("name").asText();
    if (file.endsWith(".safetensors") && parent != null && parent == out.get(0).value() && !key.equals("__metadata__")) {
      node = key; // a tensor
    }
    out.add(new Spot(file, parent, key, index, v, path, node));
    if (v.isObject()) {
      for (Iterator<Map.Entry<String, JsonNode>> it = v.fields(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        collect(file, v, e.getKey(), -1, e.getValue(), path + "/" + e.getKey(), node, out);
      }
    } else if (v.isArray()) {
      for (int i = 0; i < v.size(); i++) collect(file, v, key, i, v.get(i), path + "/" + i, node, out);
    }
  }

  private static ObjectNode tree(Map<String, byte[]> files, String f) throws Exception {
    return (ObjectNode) COMPACT.readTree(files.get(f));
  }

  /** A safetensors file's JSON header and its data, to write back with another header. */
  private record Header(String json, byte[] data) {
    static Header of(byte[] file) {
      long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
      return new Header(new String(file, 8, (int) n, StandardCharsets.UTF_8).strip(), Arrays.copyOfRange(file, (int) (8 + n), file.length));
    }

    byte[] with(String header) {
      byte[] h = header.getBytes(StandardCharsets.UTF_8);
      int padded = (h.length + 7) / 8 * 8;
      ByteBuffer out = ByteBuffer.allocate(8 + padded + data.length).order(ByteOrder.LITTLE_ENDIAN);
      out.putLong(padded).put(h);
      for (int i = h.length; i < padded; i++) out.put((byte) ' ');
      return out.put(data).array();
    }
  }

  /** Writes the original files with {@code edited} in their place, and a manifest that agrees with them. */
  private static void write(Path folder, Map<String, byte[]> original, Map<String, byte[]> edited) throws Exception {
    ObjectNode m = COMPACT.createObjectNode().put("version", Checkpoint.VERSION);
    ObjectNode sums = m.putObject("sha256");
    for (String f : FILES) {
      byte[] bytes = edited.getOrDefault(f, original.get(f));
      Files.write(folder.resolve(f), bytes);
      sums.put(f, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
    }
    Files.write(folder.resolve("manifest.json"), JSON.writeValueAsBytes(m));
  }

  @Test
  void theTrainedCheckpointReadsBackAsWritten() throws Exception {
    Checkpoint.Loaded l = read(trainedCheckpoint());
    assertEquals(2, l.trainer().epochsDone());
    assertEquals(2, l.trainer().metrics().size());
    assertEquals("adam", l.optimizerMetadata().get("optimizer"));
    assertArrayEquals(l.weights().get("fc1.W").shape(), l.optimizer().get("fc1.W:1").shape());
  }
}
