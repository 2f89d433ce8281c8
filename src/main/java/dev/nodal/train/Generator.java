package dev.nodal.train;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Node;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.Safetensors;
import dev.nodal.tensor.CpuMath;
import java.util.Arrays;
import java.util.Map;
import java.util.function.IntConsumer;

/**
 * Writes text with a trained {@link GptModel}, one byte at a time, on the CPU with a key/value
 * cache: each layer keeps the keys and values of the positions seen so far, so a new byte costs one
 * position's work (its q, k, v, its attention over the cache, its MLP) rather than a pass over
 * the whole prefix. It computes what the model's graph computes in evaluation mode (no dropout):
 * {@link #feed} returns the same next-byte logits as the graph's {@code logits} node at the last
 * position of the prefix, to float rounding. Parameters are read by their names
 * ({@code wte}, {@code wpe}, {@code block0.ln1.gamma}, {@code block0.attn.qkv.W}, ...; see
 * {@link dev.nodal.ops.Layers#transformerBlock}); the layer norms' eps and the attention's scale are
 * read from the graph.
 *
 * <p>The model's positions are learned ({@code wpe [context, width]}), so at most {@code context}
 * bytes are in view. When a byte is fed to a full window, the window slides: the cache is rebuilt
 * from the last {@code context / 2} bytes (at least one) and the byte follows them. So the model
 * always sees between half a window and a whole one, and rebuilding costs about one extra position's
 * work per byte written, not a whole window's.
 *
 * <p>Not thread-safe: one generator writes one text.
 */
public final class Generator {
  private final GptModel model;
  private final int c, dh, hidden;
  private final float scale;
  private final float[] wte, wpe, lnFGamma, lnFBeta;
  private final float lnFEps;
  private final Block[] blocks;
  /** The bytes in the window, oldest first; {@code length} of them. */
  private final int[] window;
  private int length;

  /** One transformer block's parameters and its cache of keys and values, {@code [context, width]} each. */
  private record Block(float[] ln1Gamma, float[] ln1Beta, float ln1Eps, float[] qkvW, float[] qkvB, float[] projW,
      float[] projB, float[] ln2Gamma, float[] ln2Beta, float ln2Eps, float[] fcW, float[] fcB, float[] mlpProjW,
      float[] mlpProjB, float[] keys, float[] values) {}

  private Generator(Graph graph, Map<String, Safetensors.Tensor> weights, String where) {
    model = GptModel.of(graph);
    c = model.width();
    dh = c / model.heads();
    hidden = 4 * c;
    Node core = graph.node("block0.attn.core");
    if (!(core instanceof Apply a) || !Boolean.TRUE.equals(a.op().attributes().get("causal"))) {
      throw new GraphException(where + ": the attention of block0 is not causal; generating needs a gpt model");
    }
    Object s = a.op().attributes().get("scale");
    scale = s != null ? ((Number) s).floatValue() : (float) (1 / Math.sqrt(dh));
    wte = tensor(weights, where, "wte", GptModel.VOCAB * c);
    wpe = tensor(weights, where, "wpe", model.context() * c);
    lnFGamma = tensor(weights, where, "ln_f.gamma", c);
    lnFBeta = tensor(weights, where, "ln_f.beta", c);
    lnFEps = eps(graph, "ln_f");
    blocks = new Block[model.layers()];
    for (int b = 0; b < blocks.length; b++) {
      String p = "block" + b;
      blocks[b] = new Block(tensor(weights, where, p + ".ln1.gamma", c), tensor(weights, where, p + ".ln1.beta", c),
          eps(graph, p + ".ln1"), tensor(weights, where, p + ".attn.qkv.W", c * 3 * c),
          tensor(weights, where, p + ".attn.qkv.b", 3 * c), tensor(weights, where, p + ".attn.proj.W", c * c),
          tensor(weights, where, p + ".attn.proj.b", c), tensor(weights, where, p + ".ln2.gamma", c),
          tensor(weights, where, p + ".ln2.beta", c), eps(graph, p + ".ln2"),
          tensor(weights, where, p + ".mlp.fc.W", c * hidden), tensor(weights, where, p + ".mlp.fc.b", hidden),
          tensor(weights, where, p + ".mlp.proj.W", hidden * c), tensor(weights, where, p + ".mlp.proj.b", c),
          new float[model.context() * c], new float[model.context() * c]);
    }
    window = new int[model.context()];
  }

  /**
   * A generator for the model of {@code graph} (built by {@link GptModel#build}) with the
   * parameters {@code weights}, by name.
   *
   * @throws IllegalArgumentException when the graph is no gpt model
   * @throws GraphException when a parameter is missing or has the wrong size
   */
  public static Generator of(Graph graph, Map<String, Safetensors.Tensor> weights) {
    return new Generator(graph, weights, "the weights");
  }

  /**
   * A generator for a checkpoint's model.
   *
   * @throws IllegalArgumentException naming the checkpoint's folder and the model it holds, when
   *     that is no gpt model
   */
  public static Generator of(Checkpoint.Loaded checkpoint) {
    String held = checkpoint.trainer() != null ? checkpoint.trainer().settings().model() : null;
    if (held != null && !held.equals(GptModel.NAME)) {
      throw new IllegalArgumentException(checkpoint.folder() + " holds the model '" + held + "', not a "
          + GptModel.NAME + "; only a gpt model writes text");
    }
    try {
      return new Generator(checkpoint.graph(), checkpoint.weights(), checkpoint.folder() + "/weights.safetensors");
    } catch (IllegalArgumentException e) {
      String why = e.getMessage();
      throw new IllegalArgumentException(checkpoint.folder() + " holds no " + GptModel.NAME + " model: " + why, e);
    }
  }

  /** The model this generator runs. */
  public GptModel model() {
    return model;
  }

  /** How many bytes are in view now, at most the model's context. */
  public int length() {
    return length;
  }

  /** Forgets every byte fed so far. */
  public void reset() {
    length = 0;
  }

  /**
   * Appends a byte (0 to 255) to the text and returns the logits of the byte that follows it,
   * {@code [256]}. When the window is full, it slides first (see the class's description).
   */
  public float[] feed(int token) {
    if (token < 0 || token >= GptModel.VOCAB) throw new IllegalArgumentException("a byte is 0 to 255, got " + token);
    if (length == model.context()) {
      int keep = Math.max(1, model.context() / 2);
      int[] last = Arrays.copyOfRange(window, length - keep, length);
      length = 0;
      for (int t : last) step(t, false);
    }
    return step(token, true);
  }

  /**
   * Writes {@code tokens} bytes after {@code prompt}, each drawn by {@code sampler} and handed to
   * {@code out} as it comes. A prompt longer than the context is cut from the left to its last
   * {@code context} bytes; an empty prompt starts from a newline byte (which is not written out).
   * The generator starts afresh.
   *
   * @return the bytes written
   */
  public byte[] generate(byte[] prompt, int tokens, Sampler sampler, IntConsumer out) {
    if (tokens < 0) throw new IllegalArgumentException("tokens must be >= 0, got " + tokens);
    reset();
    byte[] start = prompt.length == 0 ? new byte[] {'\n'} : prompt;
    float[] logits = null;
    for (int i = Math.max(0, start.length - model.context()); i < start.length; i++) logits = feed(start[i] & 0xff);
    byte[] written = new byte[tokens];
    for (int i = 0; i < tokens; i++) {
      int next = sampler.next(logits);
      written[i] = (byte) next;
      out.accept(next);
      if (i + 1 < tokens) logits = feed(next);
    }
    return written;
  }

  /** Runs one position through every block, caching its keys and values; the logits when asked. */
  private float[] step(int token, boolean wantLogits) {
    int pos = length;
    window[pos] = token;
    length++;
    float[] x = new float[c];
    for (int i = 0; i < c; i++) x[i] = wte[token * c + i] + wpe[pos * c + i];
    float[] merged = new float[c], weights = new float[pos + 1];
    for (Block b : blocks) {
      float[] qkv = affine(layerNorm(x, b.ln1Gamma, b.ln1Beta, b.ln1Eps), b.qkvW, b.qkvB, 3 * c);
      System.arraycopy(qkv, c, b.keys, pos * c, c);
      System.arraycopy(qkv, 2 * c, b.values, pos * c, c);
      for (int h = 0; h < model.heads(); h++) attend(qkv, h, b, pos, weights, merged);
      add(x, affine(merged, b.projW, b.projB, c));
      float[] f = affine(layerNorm(x, b.ln2Gamma, b.ln2Beta, b.ln2Eps), b.fcW, b.fcB, hidden);
      for (int i = 0; i < hidden; i++) f[i] = CpuMath.gelu(f[i]);
      add(x, affine(f, b.mlpProjW, b.mlpProjB, c));
    }
    if (!wantLogits) return null;
    float[] last = layerNorm(x, lnFGamma, lnFBeta, lnFEps);
    float[] logits = new float[GptModel.VOCAB];
    for (int v = 0; v < GptModel.VOCAB; v++) {
      float sum = 0;
      for (int i = 0; i < c; i++) sum += last[i] * wte[v * c + i];
      logits[v] = sum;
    }
    return logits;
  }

  /** Head {@code h} of position {@code pos}: softmax over cached keys 0..pos, into h's columns of {@code merged}. */
  private void attend(float[] qkv, int h, Block b, int pos, float[] weights, float[] merged) {
    int off = h * dh;
    float max = Float.NEGATIVE_INFINITY;
    for (int j = 0; j <= pos; j++) {
      float dot = 0;
      for (int d = 0; d < dh; d++) dot += qkv[off + d] * b.keys[j * c + off + d];
      weights[j] = scale * dot;
      max = Math.max(max, weights[j]);
    }
    float sum = 0;
    for (int j = 0; j <= pos; j++) sum += weights[j] = (float) Math.exp(weights[j] - max);
    Arrays.fill(merged, off, off + dh, 0f);
    for (int j = 0; j <= pos; j++) {
      float w = weights[j] / sum;
      for (int d = 0; d < dh; d++) merged[off + d] += w * b.values[j * c + off + d];
    }
  }

  /** {@code x·W + bias} for x {@code [n]}, W {@code [n, units]}. */
  private static float[] affine(float[] x, float[] w, float[] bias, int units) {
    float[] y = bias.clone();
    for (int i = 0; i < x.length; i++) {
      float xi = x[i];
      int row = i * units;
      for (int u = 0; u < units; u++) y[u] += xi * w[row + u];
    }
    return y;
  }

  private static float[] layerNorm(float[] x, float[] gamma, float[] beta, float eps) {
    double mean = 0, var = 0;
    for (float v : x) mean += v;
    mean /= x.length;
    for (float v : x) var += (v - mean) * (v - mean);
    var /= x.length;
    float inv = (float) (1 / Math.sqrt(var + eps));
    float[] y = new float[x.length];
    for (int i = 0; i < x.length; i++) y[i] = (float) (x[i] - mean) * inv * gamma[i] + beta[i];
    return y;
  }

  private static void add(float[] x, float[] y) {
    for (int i = 0; i < x.length; i++) x[i] += y[i];
  }

  private static float eps(Graph graph, String layerNorm) {
    if (!(graph.node(layerNorm) instanceof Apply a) || !(a.op().attributes().get("eps") instanceof Number eps)) {
      throw new GraphException("node '" + layerNorm + "' is no layer norm; generating needs a gpt model");
    }
    return eps.floatValue();
  }

  private static float[] tensor(Map<String, Safetensors.Tensor> weights, String where, String name, int size) {
    Safetensors.Tensor t = weights.get(name);
    if (t == null) throw new GraphException(where + " has no tensor '" + name + "'");
    if (t.data().length != size) {
      throw new GraphException(where + ": tensor '" + name + "' has " + t.data().length + " values, the model needs "
          + size);
    }
    return t.data();
  }
}
