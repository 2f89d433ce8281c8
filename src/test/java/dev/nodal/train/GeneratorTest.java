package dev.nodal.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Param;
import dev.nodal.io.Safetensors;
import java.io.ByteArrayOutputStream;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The cached decoding path against the model's graph on the whole prefix, and seeded sampling. */
class GeneratorTest {
  static final GptModel MODEL = new GptModel(12, 2, 2, 16, 0.1f);

  /** The model's graph with weights far from their small initial values, so that every part of it matters. */
  private static Map<String, Safetensors.Tensor> weights(Graph g) {
    Random r = new Random(3);
    Map<String, Safetensors.Tensor> w = new HashMap<>();
    for (Param p : g.params()) {
      float[] data = new float[p.shape().size(1)];
      boolean gamma = p.name().endsWith(".gamma");
      for (int i = 0; i < data.length; i++) data[i] = (float) ((gamma ? 1 : 0) + 0.4 * r.nextGaussian());
      w.put(p.name(), new Safetensors.Tensor(p.shape().dims(), data));
    }
    return w;
  }

  /** The graph's logits {@code [T, 256]} for one window of bytes (evaluation mode). */
  private static float[] graphLogits(Graph g, Map<String, Safetensors.Tensor> w, int[] window) {
    try (Session s = Backends.cpu().compile(g, CompileOptions.maxBatch(1).keep("logits"))) {
      for (Param p : g.params()) s.setParam(p, w.get(p.name()).data());
      s.setTraining(false);
      float[] ids = new float[MODEL.context()];
      for (int t = 0; t < window.length; t++) ids[t] = window[t];
      s.setInput((dev.nodal.graph.Input) g.node("x"), ids);
      s.setInput((dev.nodal.graph.Input) g.node("y"), ids);
      s.forward();
      return s.value(g.node("logits"));
    }
  }

  private static void assertLogits(float[] expected, int position, float[] actual, String what) {
    float[] row = Arrays.copyOfRange(expected, position * GptModel.VOCAB, (position + 1) * GptModel.VOCAB);
    for (int v = 0; v < GptModel.VOCAB; v++) {
      assertEquals(row[v], actual[v], 2e-4f * (1 + Math.abs(row[v])), what + ", byte " + v);
    }
  }

  @Test
  void theCachedPathGivesTheGraphsLogitsAtEveryPositionAndAfterTheWindowSlides() {
    Graph g = MODEL.build(7);
    Map<String, Safetensors.Tensor> w = weights(g);
    Random r = new Random(11);
    int[] text = new int[MODEL.context() + 3];
    for (int i = 0; i < text.length; i++) text[i] = r.nextInt(256);
    float[] full = graphLogits(g, w, Arrays.copyOf(text, MODEL.context()));

    Generator gen = Generator.of(g, w);
    assertEquals(MODEL, gen.model());
    for (int t = 0; t < MODEL.context(); t++) assertLogits(full, t, gen.feed(text[t]), "position " + t);

    // A full window slides: the last context/2 bytes are kept, and the new byte follows them.
    int keep = MODEL.context() / 2;
    int[] slid = new int[keep + 3];
    System.arraycopy(text, MODEL.context() - keep, slid, 0, keep);
    System.arraycopy(text, MODEL.context(), slid, keep, 3);
    float[] after = graphLogits(g, w, slid);
    for (int i = 0; i < 3; i++) {
      assertLogits(after, keep + i, gen.feed(text[MODEL.context() + i]), "after sliding, position " + (keep + i));
    }
    assertEquals(keep + 3, gen.length());
  }

  @Test
  void oneSeedGivesOneTextAndGreedyIsTheMostLikelyByteEachTime() {
    Graph g = MODEL.build(7);
    Generator gen = Generator.of(g, weights(g));
    byte[] prompt = "long prompt, longer than the context".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    ByteArrayOutputStream streamed = new ByteArrayOutputStream();
    byte[] first = gen.generate(prompt, 40, new Sampler(1.0, 0, 42), streamed::write);
    assertArrayEquals(first, streamed.toByteArray(), "each byte is handed out as it is drawn");
    assertArrayEquals(first, gen.generate(prompt, 40, new Sampler(1.0, 0, 42), b -> {}));
    assertFalse(Arrays.equals(first, gen.generate(prompt, 40, new Sampler(1.0, 0, 43), b -> {})), "another seed");

    byte[] greedy = gen.generate(prompt, 30, new Sampler(0, 0, 1), b -> {});
    assertArrayEquals(greedy, gen.generate(prompt, 30, new Sampler(0, 0, 99), b -> {}), "greedy draws no numbers");
    assertArrayEquals(greedy, gen.generate(prompt, 30, new Sampler(2.0, 1, 5), b -> {}), "top-k 1 is greedy");
    gen.reset();
    float[] logits = null;
    for (int i = prompt.length - MODEL.context(); i < prompt.length; i++) logits = gen.feed(prompt[i]);
    for (byte b : greedy) {
      assertEquals(argmax(logits), b & 0xff);
      logits = gen.feed(b & 0xff);
    }
    assertEquals(30, gen.generate(new byte[0], 30, new Sampler(1.0, 0, 1), b -> {}).length,
        "an empty prompt starts at a newline");
  }

  @Test
  void topKDrawsOnlyAmongTheKMostLikely() {
    float[] logits = new float[256];
    logits[7] = 3;
    logits[200] = 2.5f;
    logits[9] = 2;
    Sampler s = new Sampler(50, 2, 3);
    boolean[] seen = new boolean[256];
    for (int i = 0; i < 200; i++) seen[s.next(logits)] = true;
    assertTrue(seen[7] && seen[200]);
    for (int v = 0; v < 256; v++) if (v != 7 && v != 200) assertFalse(seen[v], "byte " + v);
  }

  @Test
  void badSettingsAndOtherModelsAreRefused() {
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(-0.5, 0, 1)).getMessage()
        .startsWith("temperature must be"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sampler(1, -1, 1)).getMessage()
        .startsWith("top-k must be"));
    Graph mlp = ModelZoo.build("mlp", 1, 784, 10);
    assertThrows(IllegalArgumentException.class, () -> Generator.of(mlp, Map.of()));
    Graph g = MODEL.build(7);
    Map<String, Safetensors.Tensor> w = new HashMap<>(weights(g));
    w.remove("block1.mlp.fc.b");
    assertTrue(assertThrows(RuntimeException.class, () -> Generator.of(g, w)).getMessage()
        .contains("no tensor 'block1.mlp.fc.b'"));
  }

  private static int argmax(float[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
    return best;
  }
}
