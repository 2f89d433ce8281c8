package dev.nodal.ops;

import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Matrix product {@code C = A·B}: A is M×K (M may be the batch), B is K×N, C is M×N. Backward:
 * {@code dA += dC·Bᵀ}, {@code dB += Aᵀ·dC}.
 */
public final class MatMul implements Op {
  @Override
  public String kind() {
    return "matmul";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("a", "b");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 2, "a matrix");
    c.requireRank(1, 2, "a matrix");
    if (c.in(1).hasBatch()) throw c.error("right operand '%s' must not have a batch dimension", c.name(1));
    if (c.in(0).dim(1) != c.in(1).dim(0)) {
      throw c.error("'%s' %s has %d columns, '%s' %s has %d rows", c.name(0), c.in(0), c.in(0).dim(1),
          c.name(1), c.in(1), c.in(1).dim(0));
    }
    return Shape.of(c.in(0).dim(0), c.in(1).dim(1));
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int m = in[0].dim(0), k = in[0].dim(1), n = in[1].dim(1);
    pass.cpu().gemm(false, false, m, n, k, 1f, in[0].data, in[1].data, 0f, out.data);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int m = in[0].dim(0), k = in[0].dim(1), n = in[1].dim(1);
    if (dIn[0] != null) pass.cpu().gemm(false, true, m, k, n, 1f, dOut.data, in[1].data, 1f, dIn[0].data);
    if (dIn[1] != null) pass.cpu().gemm(true, false, k, n, m, 1f, in[0].data, dOut.data, 1f, dIn[1].data);
  }

  @Override
  public void forwardKernels(Launcher k) {
    int m = k.inShape(0).dim(0), kk = k.inShape(0).dim(1), n = k.inShape(1).dim(1);
    k.gemm(false, false, m, n, kk, 1f, k.in(0), k.in(1), 0f, k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int m = k.inShape(0).dim(0), kk = k.inShape(0).dim(1), n = k.inShape(1).dim(1);
    if (k.dIn(0) != null) k.gemm(false, true, m, kk, n, 1f, k.dOut(), k.in(1), k.accumulate(0), k.dIn(0));
    if (k.dIn(1) != null) k.gemm(true, false, kk, n, m, 1f, k.in(0), k.dOut(), k.accumulate(1), k.dIn(1));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return Math.max(in[0].dim(0), Math.max(in[0].dim(1), in[1].dim(1)));
  }
}
