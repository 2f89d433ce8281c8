package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuMath;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * The relu, sigmoid and tanh nodes: a {@link FusedActivation} on its own, whose kind is the
 * activation's name and whose maths is the activation's, on the CPU and, through the one kernel
 * pair of the program {@code activation}, on a device. Backward reads the output.
 */
abstract class OutputActivation implements Op {
  private static final Kernel FORWARD = Kernel.of("activation", "activation_forward").ints("n", "act")
      .buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("activation", "activation_backward").ints("n", "act")
      .buffers("z", "dz", "dx").ints("acc");

  private final FusedActivation activation;

  OutputActivation(FusedActivation activation) {
    this.activation = activation;
  }

  @Override
  public final String kind() {
    return activation.attribute();
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
  public final void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    Activation.chunks(out.size(), (from, to) -> CpuMath.activate(pass.cpu(), activation, x, z, from, to));
  }

  @Override
  public final void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] z = out.data, dz = dOut.data, dx = dIn[0].data;
    Activation.chunks(out.size(),
        (from, to) -> CpuMath.activationGradient(pass.cpu(), activation, z, from, dz, from, dx, from, to - from, true));
  }

  @Override
  public final void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(FORWARD, over(n), n, activation.code(), k.in(0), k.out());
  }

  @Override
  public final void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(BACKWARD, over(n), n, activation.code(), k.out(), k.dOut(), k.dIn(0), k.accumulate(0));
  }
}
