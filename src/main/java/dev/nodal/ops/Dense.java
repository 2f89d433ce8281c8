package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Blas;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Fully connected layer {@code Z = X·W + b}: X is N×A (a batch of rows), W is A×B, b has B
 * elements, Z is N×B. Backward: {@code dX += dZ·Wᵀ}, {@code dW += Xᵀ·dZ}, {@code db += column
 * sums of dZ}.
 */
public final class Dense implements Op {
  @Override
  public String kind() {
    return "dense";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x", "W", "b");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 2, "a batch of feature rows");
    c.requireRank(1, 2, "a weight matrix");
    c.requireRank(2, 1, "a bias vector");
    if (c.in(1).hasBatch() || c.in(2).hasBatch()) {
      throw c.error("weight '%s' and bias '%s' must not have a batch dimension", c.name(1), c.name(2));
    }
    int a = c.in(0).dim(1);
    if (c.in(1).dim(0) != a) {
      throw c.error("input '%s' has %d features, %s expects %d", c.name(0), a, c.name(1), c.in(1).dim(0));
    }
    int b = c.in(1).dim(1);
    if (c.in(2).dim(0) != b) {
      throw c.error("bias '%s' has %d elements, %s has %d outputs", c.name(2), c.in(2).dim(0), c.name(1), b);
    }
    return Shape.of(c.in(0).dim(0), b);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int n = in[0].dim(0), a = in[0].dim(1), b = in[1].dim(1);
    Blas.gemm(false, false, n, b, a, 1f, in[0].data, in[1].data, 0f, out.data);
    Blas.addRowVector(out.data, n, b, in[2].data);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int n = in[0].dim(0), a = in[0].dim(1), b = in[1].dim(1);
    if (dIn[0] != null) Blas.gemm(false, true, n, a, b, 1f, dOut.data, in[1].data, 1f, dIn[0].data);
    if (dIn[1] != null) Blas.gemm(true, false, a, b, n, 1f, in[0].data, dOut.data, 1f, dIn[1].data);
    if (dIn[2] != null) Blas.addColumnSums(dOut.data, n, b, dIn[2].data);
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.inShape(0).dim(0), a = k.inShape(0).dim(1), b = k.inShape(1).dim(1);
    k.gemm(false, false, n, b, a, 1f, k.in(0), k.in(1), 0f, k.out());
    k.launch("dense.cl", "dense_forward_bias", over(n * b), n, b, k.in(2), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.inShape(0).dim(0), a = k.inShape(0).dim(1), b = k.inShape(1).dim(1);
    if (k.dIn(0) != null) k.gemm(false, true, n, a, b, 1f, k.dOut(), k.in(1), k.accumulate(0), k.dIn(0));
    if (k.dIn(1) != null) k.gemm(true, false, a, b, n, 1f, k.in(0), k.dOut(), k.accumulate(1), k.dIn(1));
    if (k.dIn(2) != null) k.launch("dense.cl", "dense_backward_bias", over(b), n, b, k.dOut(), k.dIn(2), k.accumulate(2));
  }

  /** Forward sums A products per output; backward sums B (for dX) and N (for dW and db). */
  @Override
  public int reductionLength(Shape[] in) {
    return Math.max(in[0].dim(0), Math.max(in[0].dim(1), in[1].dim(1)));
  }
}
