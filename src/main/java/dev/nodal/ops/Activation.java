package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * What the elementwise activations share: one input, an output of the same shape, and kernels
 * {@code <kind>_forward(n, x, z, extra...)} and {@code <kind>_backward(n, v, dz, dx, acc, extra...)}
 * of the kernel program {@code <kind>}, where v is the input or, for activations whose derivative is
 * cheaper from it, the output, and {@code extra} are the op's scalar attributes
 * ({@link #kernelArgs()}). Each subclass keeps its own CPU loops, so no element costs a virtual
 * call. (Relu, sigmoid and tanh are {@link OutputActivation}s instead: one definition each, in
 * {@link dev.nodal.tensor.FusedActivation}.)
 */
abstract class Activation implements Op {

  /** Elements per task of {@link #chunks}: below two of these, one thread does all. */
  static final int CHUNK = 1 << 16;

  /** Elementwise work on {@code [from, to)} ranges. */
  interface Range {
    void run(int from, int to);
  }

  /** Runs {@code body} over {@code [0, n)} in chunks of {@link #CHUNK}, in parallel when n is large. */
  static void chunks(int n, Range body) {
    if (n < 2 * CHUNK) {
      body.run(0, n);
      return;
    }
    java.util.stream.IntStream.range(0, (n + CHUNK - 1) / CHUNK).parallel()
        .forEach(c -> body.run(c * CHUNK, Math.min(n, (c + 1) * CHUNK)));
  }

  /** True when the backward kernel and loop read the output z rather than the input x. */
  abstract boolean backwardFromOutput();

  /** Scalar arguments appended to both kernels' arguments; none by default. */
  Object[] kernelArgs() {
    return new Object[0];
  }

  /** The parameters of {@link #kernelArgs()}, appended to both kernels' parameters. */
  Kernel withKernelParams(Kernel kernel) {
    return kernel;
  }

  /** {@code <kind>_forward(int n, buffer x, buffer z, extra...)} of the program {@code <kind>}. */
  private Kernel forwardKernel() {
    return withKernelParams(Kernel.of(kind(), kind() + "_forward").ints("n").buffers("x", "z"));
  }

  /** {@code <kind>_backward(int n, buffer x or z, buffer dz, buffer dx, int acc, extra...)}. */
  private Kernel backwardKernel() {
    return withKernelParams(Kernel.of(kind(), kind() + "_backward").ints("n")
        .buffers(backwardFromOutput() ? "z" : "x", "dz", "dx").ints("acc"));
  }

  private static Object[] concat(Object[] head, Object[] tail) {
    Object[] all = java.util.Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }

  @Override
  public final List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public final Shape inferShape(ShapeContext c) {
    return c.in(0);
  }

  @Override
  public final void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(forwardKernel(), over(n), concat(new Object[] {n, k.in(0), k.out()}, kernelArgs()));
  }

  @Override
  public final void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    Object v = backwardFromOutput() ? k.out() : k.in(0);
    Object[] args = {n, v, k.dOut(), k.dIn(0), k.accumulate(0)};
    k.launch(backwardKernel(), over(n), concat(args, kernelArgs()));
  }
}
