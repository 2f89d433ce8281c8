package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Launcher.GemmEpilogue;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Blas;
import dev.nodal.tensor.CpuMath;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Epilogue;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.ThreadBuffers;
import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Map;

/**
 * Fully connected layer {@code Z = f(X·W + b)}: X is N×A (a batch of rows), W is A×B, b has B
 * elements, Z is N×B, and f is the {@code activation} attribute ({@code none} by default;
 * {@code relu}, {@code sigmoid} or {@code tanh}), applied in the product's epilogue as each tile
 * of Z is written, instead of by a node and a pass of its own. Backward, with
 * {@code dY = dZ·f'} taken from the output Z: {@code dX += dY·Wᵀ}, {@code dW += Xᵀ·dY},
 * {@code db += column sums of dY}. X may have more dimensions, {@code [..., A]} (a batch of
 * sequences), giving {@code [..., B]}: its rows are every vector of the last dimension, and N their
 * number, as PyTorch's {@code Linear} applies to any leading dimensions.
 */
public final class Dense implements Op {
  private static final Kernel BACKWARD = Kernel.of("dense", "dense_backward").ints("rows", "cols", "act")
      .buffers("z", "dz", "dy", "db").ints("acc", "want_db");

  private final FusedActivation activation;

  /** dY of a backward on the CPU: per thread, in the running backend's {@link Pass#cpu()}. */
  private static final ThreadBuffers.Key DY = new ThreadBuffers.Key("dense dY", 1);

  /** Without an activation: {@code Z = X·W + b}. */
  public Dense() {
    this(FusedActivation.NONE);
  }

  public Dense(FusedActivation activation) {
    if (activation == null) throw new IllegalArgumentException("dense: activation must not be null (NONE for none)");
    this.activation = activation;
  }

  /** The graph file's attributes of a dense node. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(
      AttributeSchema.choice("activation", "none", FusedActivation.names()));

  static Dense fromAttributes(AttributeSchema.Values a) {
    return new Dense(FusedActivation.parse("dense", a.text("activation")));
  }

  public FusedActivation activation() {
    return activation;
  }

  @Override
  public String kind() {
    return "dense";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x", "W", "b");
  }

  /** {@code activation}, when there is one (a plain layer's graph file names none). */
  @Override
  public Map<String, Object> attributes() {
    return activation == FusedActivation.NONE ? Map.of() : Map.of("activation", activation.attribute());
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    if (c.in(0).rank() < 2) {
      throw c.error("input '%s' %s must be rows of features [..., A], with at least two dimensions", c.name(0), c.in(0));
    }
    c.requireRank(1, 2, "a weight matrix");
    c.requireRank(2, 1, "a bias vector");
    if (c.in(1).hasBatch() || c.in(2).hasBatch()) {
      throw c.error("weight '%s' and bias '%s' must not have a batch dimension", c.name(1), c.name(2));
    }
    int a = c.in(0).dim(-1);
    if (c.in(1).dim(0) != a) {
      throw c.error("input '%s' has %d features, %s expects %d", c.name(0), a, c.name(1), c.in(1).dim(0));
    }
    int b = c.in(1).dim(1);
    if (c.in(2).dim(0) != b) {
      throw c.error("bias '%s' has %d elements, %s has %d outputs", c.name(2), c.in(2).dim(0), c.name(1), b);
    }
    return withColumns(c.in(0), b);
  }

  /** X's shape with its last dimension {@code b}: Z's. */
  private static Shape withColumns(Shape x, int b) {
    int[] dims = x.dims();
    dims[dims.length - 1] = b;
    return Shape.of(dims);
  }

  /** The rows of X in a resolved shape: every dimension but the last. */
  private static int rows(Shape x) {
    return x.size(0) / x.dim(-1);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int n = rows(in[0].shape), a = in[0].dim(-1), b = in[1].dim(1);
    pass.cpu().gemm(false, false, n, b, a, 1f, in[0].data, 0, in[1].data, 0, 0f, out.data, 0,
        Epilogue.columns(in[2].data, activation));
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int n = rows(in[0].shape), a = in[0].dim(-1), b = in[1].dim(1);
    float[] dy = dOut.data, db = dIn[2] != null ? dIn[2].data : null;
    if (db != null && pass.overwrites(2)) java.util.Arrays.fill(db, 0, b, 0f);
    if (activation != FusedActivation.NONE) {
      // dY = dZ·f'(Z); db then sums dY's columns
      dy = pass.cpu().buffers(DY).get(0, n * b);
      CpuMath.activationGradient(pass.cpu(), activation, out.data, 0, dOut.data, 0, dy, 0, n * b, false);
    }
    if (db != null) Blas.addColumnSums(dy, n, b, db);
    if (dIn[0] != null) pass.cpu().gemm(false, true, n, a, b, 1f, dy, in[1].data, beta(pass, 0), dIn[0].data);
    if (dIn[1] != null) pass.cpu().gemm(true, false, a, b, n, 1f, in[0].data, dy, beta(pass, 1), dIn[1].data);
  }

  /** 0 where a product sets input i's gradient, 1 where it adds to it. */
  static float beta(Pass pass, int i) {
    return pass.overwrites(i) ? 0f : 1f;
  }

  /** Its products set the gradients they write first (beta 0); the bias gradient is zeroed first. */
  @Override
  public boolean overwritesGradients() {
    return true;
  }

  /** dY on the device, in backward when there is an activation. */
  @Override
  public List<Shape> scratch(Shape[] in, boolean backward) {
    return !backward || activation == FusedActivation.NONE ? List.of() : List.of(withColumns(in[0], in[1].dim(1)));
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = rows(k.inShape(0)), a = k.inShape(0).dim(-1), b = k.inShape(1).dim(1);
    k.gemm(false, false, n, b, a, 1f, k.in(0), k.in(1), 0f, k.out(), GemmEpilogue.columns(k.in(2), activation));
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = rows(k.inShape(0)), a = k.inShape(0).dim(-1), b = k.inShape(1).dim(1);
    Launcher.Buffer dy = activation == FusedActivation.NONE ? k.dOut() : k.scratch(0);
    boolean bias = k.dIn(2) != null;
    if (activation != FusedActivation.NONE || bias) {
      // dY = dZ·f'(Z) into scratch, and db from the same pass over it; groups of 16 columns × up to
      // 16 slices of the rows.
      int slices = Math.max(1, Math.min(16, k.maxWorkGroupSize() / 16));
      k.launch(BACKWARD, over(b, slices).inGroupsOf(Math.min(16, k.maxWorkGroupSize()), slices), n,
          b, activation.code(), k.out(), k.dOut(), dy, bias ? k.dIn(2) : dy, bias ? k.accumulate(2) : 0, bias ? 1 : 0);
    }
    if (k.dIn(0) != null) k.gemm(false, true, n, a, b, 1f, dy, k.in(1), k.accumulate(0), k.dIn(0));
    if (k.dIn(1) != null) k.gemm(true, false, a, b, n, 1f, k.in(0), dy, k.accumulate(1), k.dIn(1));
  }

  /** Forward sums A products per output; backward sums B (for dX) and N (for dW and db). */
  @Override
  public int reductionLength(Shape[] in) {
    return Math.max(rows(in[0]), Math.max(in[0].dim(-1), in[1].dim(1)));
  }
}
