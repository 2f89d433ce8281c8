package dev.nodal.ops;

import dev.nodal.graph.Apply;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.tensor.FusedActivation;

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
}
