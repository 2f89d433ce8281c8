package dev.nodal.train;

import dev.nodal.data.TextCorpus;
import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Add;
import dev.nodal.ops.Dropout;
import dev.nodal.ops.Embedding;
import dev.nodal.ops.Layers;
import dev.nodal.ops.MatMul;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.tensor.Shape;
import java.util.Locale;

/**
 * A byte-level GPT, as GPT-2 builds one: token embedding {@code wte [256, width]} plus learned
 * positions {@code wpe [context, width]}, {@code layers} pre-norm transformer blocks
 * ({@link Layers#transformerBlock}, causal, nodes {@code block0}, {@code block1}, ...), a final
 * layer norm {@code ln_f} and an output projection tied to the token embedding
 * ({@code logits = h · wteᵀ}, {@code [N, context, 256]}), trained with softmax cross-entropy
 * against the next bytes. Inputs: token ids {@code x [N, context]} and targets {@code y [N, context]}.
 *
 * @param dropout the probability of dropping after the embedding and in every block (training only)
 */
public record GptModel(int context, int layers, int heads, int width, float dropout) {
  /** The name the command line and the run's settings give the model. */
  public static final String NAME = "gpt";

  /** Byte tokens. */
  public static final int VOCAB = TextCorpus.VOCAB;

  /** The command line's preset: small enough to train on two CPU cores in minutes. */
  public static final GptModel DEFAULT = new GptModel(64, 4, 4, 128, 0f);

  public GptModel {
    if (context < 1) throw new IllegalArgumentException("gpt: context length must be at least 1, got " + context);
    if (layers < 1) throw new IllegalArgumentException("gpt: layers must be at least 1, got " + layers);
    if (heads < 1) throw new IllegalArgumentException("gpt: heads must be at least 1, got " + heads);
    if (width < 1 || width % heads != 0) {
      throw new IllegalArgumentException("gpt: the width " + width + " must be a positive multiple of the " + heads + " heads");
    }
    if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("gpt: dropout must be in [0, 1), got " + dropout);
  }

  /** The graph, weights drawn from {@code seed}: normal(0, 0.02) for the embedding, (0, 0.01) for positions. */
  public Graph build(long seed) {
    GraphBuilder g = new GraphBuilder(seed);
    Input ids = g.labels("x", VOCAB, context);
    Input targets = g.labels("y", VOCAB, context);
    Param wte = g.param("wte", Init.normal(0f, 0.02f), VOCAB, width);
    Param wpe = g.param("wpe", Init.normal(0f, 0.01f), context, width);
    Node h = g.apply(new Add(), "h0", g.apply(new Embedding(), "tok", wte, ids), wpe);
    if (dropout > 0) h = g.apply(new Dropout(dropout, 0), "h0.drop", h);
    for (int b = 0; b < layers; b++) h = Layers.transformerBlock(g, "block" + b, h, heads, true, dropout, 1 + 3 * b);
    h = Layers.layerNorm(g, "ln_f", h, width);
    Node logits = g.apply(new MatMul(false, true), "logits", h, wte);
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, targets));
  }

  /**
   * The model a graph built by {@link #build} is, read from its nodes.
   *
   * @throws IllegalArgumentException when the graph is not such a model
   */
  public static GptModel of(Graph graph) {
    if (!graph.hasNode("x") || !graph.hasNode("wte") || !graph.hasNode("block0.attn.q")) {
      throw new IllegalArgumentException("the graph is no gpt model: it lacks the nodes x, wte and block0.attn.q");
    }
    Shape ids = graph.node("x").shape();
    int layers = 0;
    while (graph.hasNode("block" + layers)) layers++;
    float dropout = graph.hasNode("h0.drop") && graph.node("h0.drop") instanceof Apply a && a.op() instanceof Dropout d
        ? ((Number) d.attributes().get("p")).floatValue() : 0f;
    return new GptModel(ids.dim(ids.rank() - 1), layers, graph.node("block0.attn.q").shape().dim(2),
        graph.node("wte").shape().dim(1), dropout);
  }

  @Override
  public String toString() {
    return String.format(Locale.ROOT, "%s (context %d, %d layers, %d heads, width %d, dropout %s)", NAME, context, layers,
        heads, width, dropout);
  }
}
