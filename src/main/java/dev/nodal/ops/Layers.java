package dev.nodal.ops;

import dev.nodal.graph.Apply;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Shorthands that create a layer's parameters and its function node together. */
public final class Layers {
  /** GPT-2's initial weights of a transformer's projections. */
  private static final Init WEIGHTS = Init.normal(0f, 0.02f);

  private Layers() {}

  /**
   * A dense layer {@code name} over {@code x} with {@code units} outputs: parameters
   * {@code name.W} (initialised by {@code init}) and {@code name.b} (zeros).
   */
  public static Apply dense(GraphBuilder g, String name, Node x, int units, Init init) {
    return dense(g, name, x, units, init, FusedActivation.NONE);
  }

  /**
   * As {@link #dense(GraphBuilder, String, Node, int, Init)}, with {@code activation} applied in
   * the layer's product ({@link Dense}): one node instead of a dense node and an activation node.
   */
  public static Apply dense(GraphBuilder g, String name, Node x, int units, Init init, FusedActivation activation) {
    if (x.shape().rank() != 2) {
      throw new GraphException("dense '" + name + "': input '" + x.name() + "' must be a batch of feature rows, has shape " + x.shape());
    }
    Param w = g.param(name + ".W", init, x.shape().dim(1), units);
    Param b = g.param(name + ".b", Init.zeros(), units);
    return g.apply(new Dense(activation), name, x, w, b);
  }

  /**
   * A projection {@code name} of the last dimension of {@code x [..., D]} onto {@code units}, as
   * PyTorch's {@code Linear(D, units, bias=False)}: parameter {@code name.W [D, units]} (initialised
   * by {@code init}; Linear's weight transposed), applied to every vector of x by one
   * {@link MatMul}, giving {@code [..., units]}. For an output projection tied to an embedding's
   * table {@code [V, D]}, apply {@code new MatMul(false, true)} to x and the table instead.
   */
  public static Apply projection(GraphBuilder g, String name, Node x, int units, Init init) {
    return g.apply(new MatMul(), name, x, weightOnLastAxis(g, "projection", name, x, units, init));
  }

  /**
   * A linear layer {@code name} on the last dimension of {@code x [..., D]}, as PyTorch's
   * {@code Linear(D, units)}: parameters {@code name.W [D, units]} (initialised by {@code init};
   * Linear's weight transposed) and {@code name.b [units]} (zeros), and one {@link Dense} node
   * {@code name}, whose product adds the bias as it writes {@code [..., units]}.
   */
  public static Apply linear(GraphBuilder g, String name, Node x, int units, Init init) {
    Param w = weightOnLastAxis(g, "linear", name, x, units, init);
    return g.apply(new Dense(), name, x, w, g.param(name + ".b", Init.zeros(), units));
  }

  /** The parameter {@code name.W [D, units]} of a layer on the last dimension of {@code x [..., D]}. */
  private static Param weightOnLastAxis(GraphBuilder g, String kind, String name, Node x, int units, Init init) {
    if (x.shape().rank() < 2) {
      throw new GraphException(kind + " '" + name + "': input '" + x.name() + "' must be a batch of vectors [..., D], "
          + "has shape " + x.shape());
    }
    if (units < 1) throw new GraphException(kind + " '" + name + "': units must be >= 1, got " + units);
    return g.param(name + ".W", init, x.shape().dim(-1), units);
  }

  /**
   * Multi-head self-attention {@code name} over a sequence {@code x [N, T, C]} without dropout: see
   * {@link #multiHeadAttention(GraphBuilder, String, Node, int, boolean, float, int)}.
   */
  public static Apply multiHeadAttention(GraphBuilder g, String name, Node x, int heads, boolean causal) {
    return multiHeadAttention(g, name, x, heads, causal, 0f, 0);
  }

  /**
   * Multi-head self-attention {@code name} over a sequence {@code x [N, T, C]}, as GPT-2's
   * attention or PyTorch's {@code MultiheadAttention(C, heads, dropout=dropout, batch_first=True)}
   * called as {@code mha(x, x, x, is_causal=causal)}: one {@link #linear} {@code name.qkv} to
   * {@code 3C} (parameters {@code name.qkv.W [C, 3C]}, {@code name.qkv.b}), split into q, k and v
   * ({@code name.qkv.split.0..2}), each cut into {@code heads} heads of {@code Dh = C/heads}
   * ({@link Reshape} to {@code [N, T, H, Dh]}, {@link Permute} to {@code [N, H, T, Dh]}: nodes
   * {@code name.q}, {@code name.q.heads}, likewise k and v), scaled dot-product attention
   * {@code name.core} ({@link Attention}, causal when asked, dropping weights with probability
   * {@code dropout}), the heads merged back to {@code [N, T, C]} ({@code name.merge},
   * {@code name.merged}) and an output {@link #linear} {@code name.proj} ({@code name.proj.W [C, C]},
   * {@code name.proj.b}), followed by dropout {@code name.drop} when {@code dropout > 0}. Weights
   * start as GPT-2's, normal with standard deviation 0.02; biases at zero.
   *
   * @param seed the first of the two dropout seeds this layer uses (weights, output)
   */
  public static Apply multiHeadAttention(GraphBuilder g, String name, Node x, int heads, boolean causal, float dropout,
      int seed) {
    Shape shape = sequence("multi_head_attention", name, x);
    int t = shape.dim(1), c = shape.dim(2);
    if (heads < 1 || c % heads != 0) {
      throw new GraphException("multi_head_attention '" + name + "': " + heads + " heads do not divide the width " + c
          + " of input '" + x.name() + "' " + shape);
    }
    checkDropout("multi_head_attention", name, dropout);
    Apply qkv = linear(g, name + ".qkv", x, 3 * c, WEIGHTS);
    List<Apply> parts = split(g, name + ".qkv.split", qkv, -1, 3);
    Node[] qkvHeads = new Node[3];
    String[] roles = {"q", "k", "v"};
    for (int i = 0; i < 3; i++) {
      Apply part = g.apply(new Reshape(t, heads, c / heads), name + "." + roles[i], parts.get(i));
      qkvHeads[i] = g.apply(new Permute(0, 2, 1, 3), name + "." + roles[i] + ".heads", part);
    }
    Apply core = g.apply(new Attention(causal, 0f, dropout, seed), name + ".core", qkvHeads[0], qkvHeads[1], qkvHeads[2]);
    Apply merged = g.apply(new Reshape(t, c), name + ".merged", g.apply(new Permute(0, 2, 1, 3), name + ".merge", core));
    Apply out = linear(g, name + ".proj", merged, c, WEIGHTS);
    return dropout > 0 ? g.apply(new Dropout(dropout, seed + 1), name + ".drop", out) : out;
  }

  /**
   * A feed-forward block {@code name} on the last dimension of {@code x [..., C]} without dropout:
   * see {@link #mlp(GraphBuilder, String, Node, int, float, int)}.
   */
  public static Apply mlp(GraphBuilder g, String name, Node x, int hidden) {
    return mlp(g, name, x, hidden, 0f, 0);
  }

  /**
   * A feed-forward block {@code name} on the last dimension of {@code x [..., C]}, as GPT-2's MLP,
   * PyTorch's {@code Sequential(Linear(C, hidden), GELU(approximate="tanh"), Linear(hidden, C),
   * Dropout(dropout))}: {@link #linear} {@code name.fc} ({@code name.fc.W [C, hidden]},
   * {@code name.fc.b}), {@link Gelu} {@code name.gelu}, {@link #linear} {@code name.proj}
   * ({@code name.proj.W [hidden, C]}, {@code name.proj.b}) and, when {@code dropout > 0}, dropout
   * {@code name.drop} of seed {@code seed}. Weights start normal with standard deviation 0.02;
   * biases at zero.
   */
  public static Apply mlp(GraphBuilder g, String name, Node x, int hidden, float dropout, int seed) {
    int rank = x.shape().rank();
    if (rank < 2) {
      throw new GraphException("mlp '" + name + "': input '" + x.name() + "' must be vectors [..., C], has shape " + x.shape());
    }
    if (hidden < 1) throw new GraphException("mlp '" + name + "': hidden must be >= 1, got " + hidden);
    checkDropout("mlp", name, dropout);
    Apply h = g.apply(new Gelu(), name + ".gelu", linear(g, name + ".fc", x, hidden, WEIGHTS));
    Apply out = linear(g, name + ".proj", h, x.shape().dim(-1), WEIGHTS);
    return dropout > 0 ? g.apply(new Dropout(dropout, seed), name + ".drop", out) : out;
  }

  /**
   * A pre-norm transformer block {@code name} over {@code x [N, T, C]} without dropout: see
   * {@link #transformerBlock(GraphBuilder, String, Node, int, boolean, float, int)}.
   */
  public static Apply transformerBlock(GraphBuilder g, String name, Node x, int heads, boolean causal) {
    return transformerBlock(g, name, x, heads, causal, 0f, 0);
  }

  /**
   * A pre-norm transformer block {@code name} over a sequence {@code x [N, T, C]}, as GPT-2's
   * {@code Block}: {@code h = x + attn(ln1(x))}, then {@code h + mlp(ln2(h))}, where {@code ln1} and
   * {@code ln2} are {@link #layerNorm layer norms} {@code name.ln1}, {@code name.ln2} (parameters
   * {@code name.ln1.gamma}, {@code name.ln1.beta}, ...), {@code attn} is
   * {@link #multiHeadAttention multi-head attention} {@code name.attn} of {@code heads} heads
   * (parameters {@code name.attn.qkv.W}, ...) and {@code mlp} the {@link #mlp feed-forward block}
   * {@code name.mlp} of width 4C (parameters {@code name.mlp.fc.W}, ...). The residual sums are
   * nodes {@code name.res1} and {@code name}, the output {@code [N, T, C]}. With
   * {@code dropout > 0}, the attention weights, the attention's output and the MLP's output are
   * dropped with that probability in training mode, under seeds {@code seed}, {@code seed + 1}
   * and {@code seed + 2}; give each block its own range of seeds.
   */
  public static Apply transformerBlock(GraphBuilder g, String name, Node x, int heads, boolean causal, float dropout,
      int seed) {
    int c = sequence("transformer_block", name, x).dim(2);
    Apply attn = multiHeadAttention(g, name + ".attn", layerNorm(g, name + ".ln1", x, c), heads, causal, dropout, seed);
    Apply h = g.apply(new Add(), name + ".res1", x, attn);
    Apply mlp = mlp(g, name + ".mlp", layerNorm(g, name + ".ln2", h, c), 4 * c, dropout, seed + 2);
    return g.apply(new Add(), name, h, mlp);
  }

  /** The shape of {@code x}, refused with an error naming the layer unless it is a batch of sequences {@code [N, T, C]}. */
  private static Shape sequence(String kind, String name, Node x) {
    Shape shape = x.shape();
    if (shape.rank() != 3 || !shape.hasBatch()) {
      throw new GraphException(kind + " '" + name + "': input '" + x.name() + "' must be a batch of sequences [N, T, C], "
          + "has shape " + shape);
    }
    return shape;
  }

  private static void checkDropout(String kind, String name, float dropout) {
    if (!(dropout >= 0 && dropout < 1)) {
      throw new GraphException(kind + " '" + name + "': dropout must be in [0, 1), got " + dropout);
    }
  }

  /**
   * A 2-D convolution {@code name} of NCHW {@code x} with {@code filters} filters of
   * {@code kernel}×{@code kernel}, stride 1 and {@code padding}: parameters {@code name.W}
   * {@code [filters, C, kernel, kernel]} (initialised by {@code init}, fan-in C·k²) and
   * {@code name.b} (zeros).
   */
  public static Apply conv2d(GraphBuilder g, String name, Node x, int filters, int kernel, int padding, Init init) {
    checkSquare(name, kernel);
    if (padding < 0) throw new GraphException("conv2d '" + name + "': padding must be >= 0, got " + padding);
    return conv2d(g, name, x, filters, kernel, kernel, Conv2d.builder().padding(padding).build(), init);
  }

  /**
   * As {@link #conv2d(GraphBuilder, String, Node, int, int, int, Init)}, with the convolution's
   * settings (stride, padding, dilation, groups, bias, algorithm) taken from {@code op}.
   */
  public static Apply conv2d(GraphBuilder g, String name, Node x, int filters, int kernel, Conv2d op, Init init) {
    checkSquare(name, kernel);
    return conv2d(g, name, x, filters, kernel, kernel, op, init);
  }

  private static void checkSquare(String name, int kernel) {
    if (kernel < 1) throw new GraphException("conv2d '" + name + "': kernel must be >= 1, got " + kernel);
  }

  /**
   * A 2-D convolution with a {@code kernelH}×{@code kernelW} window, as PyTorch's
   * {@code Conv2d(C, filters, kernel_size=(kernelH, kernelW))}; stride, padding and dilation per
   * axis, groups and bias come from {@code op} ({@code Conv2d.builder().stride(2, 1).padding(1, 0)}).
   * Parameters {@code name.W} {@code [filters, C/groups, kernelH, kernelW]} (initialised by
   * {@code init}) and, with a bias, {@code name.b} (zeros).
   */
  public static Apply conv2d(GraphBuilder g, String name, Node x, int filters, int kernelH, int kernelW, Conv2d op,
      Init init) {
    if (x.shape().rank() != 4) {
      throw new GraphException("conv2d '" + name + "': input '" + x.name() + "' must be NCHW images, has shape " + x.shape());
    }
    if (op == null) throw new GraphException("conv2d '" + name + "': op is null; pass Conv2d.builder().build()");
    if (filters < 1) throw new GraphException("conv2d '" + name + "': filters must be >= 1, got " + filters);
    if (kernelH < 1) throw new GraphException("conv2d '" + name + "': kernelH must be >= 1, got " + kernelH);
    if (kernelW < 1) throw new GraphException("conv2d '" + name + "': kernelW must be >= 1, got " + kernelW);
    int groups = (int) op.attributes().get("groups");
    if (x.shape().dim(1) % groups != 0) {
      throw new GraphException("conv2d '" + name + "': input '" + x.name() + "' has " + x.shape().dim(1)
          + " channels, which do not divide into " + groups + " groups");
    }
    Param w = g.param(name + ".W", init, filters, x.shape().dim(1) / groups, kernelH, kernelW);
    if (op.inputRoles().size() == 2) return g.apply(op, name, x, w);
    Param b = g.param(name + ".b", Init.zeros(), filters);
    return g.apply(op, name, x, w, b);
  }

  /**
   * Batch norm {@code name} over dimension 1 of {@code x} with PyTorch's defaults (momentum 0.1,
   * eps 1e-5): parameters {@code name.gamma} (ones) and {@code name.beta} (zeros), states
   * {@code name.running_mean} (zeros) and {@code name.running_var} (ones).
   */
  public static Apply batchNorm(GraphBuilder g, String name, Node x) {
    return batchNorm(g, name, x, BatchNorm.builder().build());
  }

  /**
   * As {@link #batchNorm(GraphBuilder, String, Node)}, with the momentum, eps and fused activation
   * of {@code op}, as PyTorch's {@code BatchNorm2d(C, eps=1e-3, momentum=0.01)} is
   * {@code Layers.batchNorm(g, "bn", x, BatchNorm.builder().eps(1e-3f).momentum(0.01f).build())}, and
   * a batch norm followed by a ReLU is {@code BatchNorm.builder().activation(FusedActivation.RELU)}.
   */
  public static Apply batchNorm(GraphBuilder g, String name, Node x, BatchNorm op) {
    if (op == null) throw new GraphException("batch_norm '" + name + "': op is null; pass BatchNorm.builder().build()");
    if (x.shape().rank() < 2) {
      throw new GraphException("batch_norm '" + name + "': input '" + x.name() + "' has no channel dimension: " + x.shape());
    }
    int c = x.shape().dim(1);
    Param gamma = g.param(name + ".gamma", Init.constant(1f), c);
    Param beta = g.param(name + ".beta", Init.zeros(), c);
    State mean = g.state(name + ".running_mean", Init.zeros(), c);
    State var = g.state(name + ".running_var", Init.constant(1f), c);
    return g.apply(op, name, x, gamma, beta, mean, var);
  }

  /**
   * Layer norm {@code name} over the last axis of {@code x}, of width {@code width}, as PyTorch's
   * {@code LayerNorm(width)} (eps 1e-5): parameters {@code name.gamma} (ones, PyTorch's
   * {@code weight}) and {@code name.beta} (zeros, PyTorch's {@code bias}).
   */
  public static Apply layerNorm(GraphBuilder g, String name, Node x, int width) {
    return layerNorm(g, name, x, width, new LayerNorm());
  }

  /**
   * As {@link #layerNorm(GraphBuilder, String, Node, int)}, with the eps of {@code op}; without
   * parameters when {@code op} is not affine (PyTorch's {@code elementwise_affine=False}).
   */
  public static Apply layerNorm(GraphBuilder g, String name, Node x, int width, LayerNorm op) {
    if (op == null) throw new GraphException("layer_norm '" + name + "': op is null; pass new LayerNorm()");
    return rowNorm(g, name, x, width, op);
  }

  /**
   * RMS norm {@code name} over the last axis of {@code x}, of width {@code width}, as LLaMA's
   * {@code RMSNorm(width)} (eps 1e-6): parameter {@code name.gamma} (ones, PyTorch's {@code weight}).
   */
  public static Apply rmsNorm(GraphBuilder g, String name, Node x, int width) {
    return rmsNorm(g, name, x, width, new RMSNorm());
  }

  /**
   * As {@link #rmsNorm(GraphBuilder, String, Node, int)}, with the eps of {@code op}; without a
   * parameter when {@code op} is not affine.
   */
  public static Apply rmsNorm(GraphBuilder g, String name, Node x, int width, RMSNorm op) {
    if (op == null) throw new GraphException("rms_norm '" + name + "': op is null; pass new RMSNorm()");
    return rowNorm(g, name, x, width, op);
  }

  /** The gamma (ones) and beta (zeros) that {@code op}'s roles ask for, then the node. */
  private static Apply rowNorm(GraphBuilder g, String name, Node x, int width, RowNorm op) {
    if (width < 1) throw new GraphException(op.kind() + " '" + name + "': width must be >= 1, got " + width);
    int rank = x.shape().rank();
    if (rank < 1 || x.shape().dim(rank - 1) != width) {
      throw new GraphException(op.kind() + " '" + name + "': input '" + x.name() + "' " + x.shape()
          + " does not end in an axis of width " + width);
    }
    List<String> roles = op.inputRoles();
    Node[] in = new Node[roles.size()];
    in[0] = x;
    if (roles.size() > 1) in[1] = g.param(name + ".gamma", Init.constant(1f), width);
    if (roles.size() > 2) in[2] = g.param(name + ".beta", Init.zeros(), width);
    return g.apply(op, name, in);
  }

  /**
   * {@code x} cut along {@code axis} (negative counts from the end) into {@code parts} slices of
   * equal size, as PyTorch's {@code torch.chunk(x, parts, dim=axis)} where {@code parts} divides
   * the axis (the query, key and value of one projection: {@code split(g, "qkv", y, -1, 3)}).
   * The slices are {@link Slice} nodes {@code name.0}, {@code name.1}, ... in order.
   */
  public static List<Apply> split(GraphBuilder g, String name, Node x, int axis, int parts) {
    int size = x.shape().dim(splitAxis(name, x, axis));
    if (parts < 1 || size % parts != 0) {
      throw new GraphException("split '" + name + "': " + parts + " equal parts do not divide axis " + axis + " of input '"
          + x.name() + "' " + x.shape());
    }
    int[] sizes = new int[parts];
    Arrays.fill(sizes, size / parts);
    return split(g, name, x, axis, sizes);
  }

  /**
   * {@code x} cut along {@code axis} (negative counts from the end) into slices of the given
   * {@code sizes}, which must add up to the axis, as PyTorch's
   * {@code torch.split(x, sizes, dim=axis)}. The slices are {@link Slice} nodes {@code name.0},
   * {@code name.1}, ... in order.
   */
  public static List<Apply> split(GraphBuilder g, String name, Node x, int axis, int[] sizes) {
    int size = x.shape().dim(splitAxis(name, x, axis)), total = 0;
    for (int s : sizes) {
      if (s < 1) throw new GraphException("split '" + name + "': sizes " + Arrays.toString(sizes) + " must each be >= 1");
      total += s;
    }
    if (total != size) {
      throw new GraphException("split '" + name + "': sizes " + Arrays.toString(sizes) + " add up to " + total
          + ", not to the " + size + " of axis " + axis + " of input '" + x.name() + "' " + x.shape());
    }
    List<Apply> out = new ArrayList<>();
    for (int i = 0, start = 0; i < sizes.length; start += sizes[i], i++) {
      out.add(g.apply(new Slice(axis, start, start + sizes[i]), name + "." + i, x));
    }
    return out;
  }

  /** {@code axis} of {@code x} counted from the front; an error names the split when x has no such axis or it is the batch. */
  private static int splitAxis(String name, Node x, int axis) {
    int rank = x.shape().rank();
    if (axis < -rank || axis >= rank) {
      throw new GraphException("split '" + name + "': axis " + axis + " is out of range for input '" + x.name() + "' "
          + x.shape() + " (allowed: " + -rank + " to " + (rank - 1) + ")");
    }
    int k = Axes.resolve(axis, rank);
    if (k == 0 && x.shape().hasBatch()) {
      throw new GraphException("split '" + name + "': axis " + axis + " of input '" + x.name() + "' " + x.shape()
          + " is the batch, which cannot be split; split an axis after it");
    }
    return k;
  }

  /**
   * The swap of dimensions {@code dim0} and {@code dim1} of {@code x} (negative ones count from
   * the end), as PyTorch's {@code x.transpose(dim0, dim1).contiguous()}: a {@link Permute} of
   * {@code x}'s rank. A batch dimension must stay where it is.
   */
  public static Apply transpose(GraphBuilder g, String name, Node x, int dim0, int dim1) {
    Permute op;
    try {
      op = Permute.transpose(x.shape().rank(), dim0, dim1);
    } catch (IllegalArgumentException e) {
      throw new GraphException("transpose '" + name + "': input '" + x.name() + "' " + x.shape() + ": " + e.getMessage());
    }
    return g.apply(op, name, x);
  }

  /**
   * Scaled dot-product attention of {@code q [..., Tq, D]} over {@code k [..., Tk, D]} and
   * {@code v [..., Tk, Dv]}, scaled by {@code 1/√D}, without dropout: one fused {@link Attention},
   * as PyTorch's {@code scaled_dot_product_attention(q, k, v, is_causal=causal)}.
   */
  public static Apply attention(GraphBuilder g, String name, Node q, Node k, Node v, boolean causal) {
    return g.apply(new Attention(causal), name, q, k, v);
  }
}
