package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Input;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * A lookup table, as PyTorch's {@code embedding(indices, weight)}: {@code weight [V, D]} and a
 * labels input of indices below V, of shape {@code [N, ...]}, give {@code z [N, ..., D]}, the
 * vector at each position being {@code weight[index]} (token ids {@code [N, T]} give
 * {@code [N, T, D]}). Backward is a scatter-add: {@code dweight[v] = Σ dz[i]} over every position
 * i with {@code indices[i] = v}, so a repeated index sums its gradients; the indices get none. The
 * indices come last, like a loss's labels, and must be a labels input (whose values the session
 * checks) with at most V classes.
 *
 * <p>The device backward gives each weight element a work-item that scans all I indices
 * (O(V·D·I) reads, no atomics, the same summation order everywhere): right for vocabularies of
 * thousands, not of millions.
 */
public final class Embedding implements Op {
  private static final Kernel FORWARD = Kernel.of("embedding", "embedding_forward").ints("N", "D")
      .buffers("w", "indices", "z");
  private static final Kernel BACKWARD = Kernel.of("embedding", "embedding_backward").ints("V", "N", "D")
      .buffers("indices", "dz", "dw").ints("acc");

  @Override
  public String kind() {
    return "embedding";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("weight", "indices");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    c.requireRank(0, 2, "a table of [V, D]");
    if (!(c.node(1) instanceof Input in) || !in.isLabels()) {
      throw c.error("input '%s' must be a labels input of indices (GraphBuilder.labels)", c.name(1));
    }
    if (in.classes() > c.in(0).dim(0)) {
      throw c.error("labels '%s' hold indices below %d, but table '%s' %s has only %d rows", c.name(1), in.classes(),
          c.name(0), c.in(0), c.in(0).dim(0));
    }
    int[] indices = c.in(1).dims(), out = java.util.Arrays.copyOf(indices, indices.length + 1);
    out[indices.length] = c.in(0).dim(1);
    return Shape.of(out);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    int n = in[1].size(), d = in[0].dim(1);
    float[] w = in[0].data, idx = in[1].data;
    for (int r = 0; r < n; r++) System.arraycopy(w, (int) idx[r] * d, out.data, r * d, d);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    if (dIn[0] == null) return;
    int n = in[1].size(), d = in[0].dim(1);
    float[] idx = in[1].data, dz = dOut.data, dw = dIn[0].data;
    for (int r = 0; r < n; r++) {
      int row = (int) idx[r] * d;
      for (int k = 0; k < d; k++) dw[row + k] += dz[r * d + k];
    }
  }

  @Override
  public void forwardKernels(Launcher l) {
    int n = l.inShape(1).size(0), d = l.inShape(0).dim(1);
    l.launch(FORWARD, over(n * d), n, d, l.in(0), l.in(1), l.out());
  }

  @Override
  public void backwardKernels(Launcher l) {
    if (l.dIn(0) == null) return;
    int v = l.inShape(0).dim(0), n = l.inShape(1).size(0), d = l.inShape(0).dim(1);
    l.launch(BACKWARD, over(v * d), v, n, d, l.in(1), l.dOut(), l.dIn(0), l.accumulate(0));
  }

  /** A row used by every index sums as many gradients as there are indices. */
  @Override
  public int reductionLength(Shape[] in) {
    return in[1].size(0);
  }
}
