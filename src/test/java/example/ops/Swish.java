package example.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.OpType;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Map;

/**
 * A node type of a user's own, outside Nodal's packages: Swish with a slope,
 * {@code z = x·σ(βx)}, {@code dz/dx = σ(βx)·(1 + βx·(1 − σ(βx)))}. Its CPU code is below, its
 * OpenCL kernels are the resource {@code kernels/swish.cl}, and {@link Type} registers it (listed
 * in {@code META-INF/services/dev.nodal.graph.OpType}) so that graph files and checkpoints hold it.
 */
public class Swish implements Op {
  private final float beta;

  public Swish(float beta) {
    if (!(beta > 0) || !Float.isFinite(beta)) throw new IllegalArgumentException("swish: beta must be positive, got " + beta);
    this.beta = beta;
  }

  /** How graph files make a Swish: its one attribute, beta (1 when left out). */
  public static final class Type implements OpType {
    @Override
    public String kind() {
      return "swish";
    }

    @Override
    public Op create(Map<String, Object> attributes) {
      Object beta = attributes.getOrDefault("beta", 1.0);
      if (!(beta instanceof Number n)) throw new IllegalArgumentException("swish: attribute 'beta' is not a number: " + beta);
      return new Swish(n.floatValue());
    }
  }

  @Override
  public String kind() {
    return "swish";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Map<String, Object> attributes() {
    return Map.of("beta", (double) beta);
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return c.in(0);
  }

  private float sigmoid(float x) {
    return (float) (1 / (1 + Math.exp(-beta * x)));
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = x[i] * sigmoid(x[i]);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] x = in[0].data, dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) {
      float s = sigmoid(x[i]);
      dx[i] += dz[i] * s * (1 + beta * x[i] * (1 - s));
    }
  }

  /** The kernels of the program {@code swish}: on OpenCL, the resource {@code kernels/swish.cl}. */
  static final Kernel FORWARD = Kernel.of("swish", "swish_forward").ints("n").buffers("x", "z").floats("beta");
  static final Kernel BACKWARD = Kernel.of("swish", "swish_backward").ints("n").buffers("x", "dz", "dx").ints("acc")
      .floats("beta");

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(FORWARD, over(n), n, k.in(0), k.out(), beta);
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.outShape().size(0);
    k.launch(BACKWARD, over(n), n, k.in(0), k.dOut(), k.dIn(0), k.accumulate(0), beta);
  }
}
