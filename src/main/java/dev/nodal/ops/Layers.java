package dev.nodal.ops;

import dev.nodal.graph.Apply;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.tensor.FusedActivation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/** Shorthands that create a layer's parameters and its function node together. */
public final class Layers {
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
    if (x.shape().rank() < 2) {
      throw new GraphException("projection '" + name + "': input '" + x.name() + "' must be a batch of vectors [..., D], "
          + "has shape " + x.shape());
    }
    if (units < 1) throw new GraphException("projection '" + name + "': units must be >= 1, got " + units);
    Param w = g.param(name + ".W", init, x.shape().dim(-1), units);
    return g.apply(new MatMul(), name, x, w);
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
   * As {@link #batchNorm(GraphBuilder, String, Node)}, with the momentum and eps of {@code op}, as
   * PyTorch's {@code BatchNorm2d(C, eps=1e-3, momentum=0.01)} is
   * {@code Layers.batchNorm(g, "bn", x, BatchNorm.builder().eps(1e-3f).momentum(0.01f).build())}.
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
