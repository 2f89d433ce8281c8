package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * What the elementwise activations share: one input, an output of the same shape, and kernels
 * {@code <kind>_forward(n, x, z)} and {@code <kind>_backward(n, v, dz, dx)} in
 * {@code kernels/<kind>.cl}, where v is the input or, for activations whose derivative is cheaper
 * from it, the output. Each subclass keeps its own CPU loops, so no element costs a virtual call.
 */
abstract class Activation implements Op {

  /** True when the backward kernel and loop read the output z rather than the input x. */
  abstract boolean backwardFromOutput();

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
    k.launch(kind() + ".cl", kind() + "_forward", over(n), n, k.in(0), k.out());
  }

  @Override
  public final void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(kind() + ".cl", kind() + "_backward", over(n), n, backwardFromOutput() ? k.out() : k.in(0), k.dOut(), k.dIn(0));
  }
}
