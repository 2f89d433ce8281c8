package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Blas;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Elementwise sum {@code z = a + b}. Either both shapes are equal, or b has no batch dimension and
 * equals the trailing dimensions of a; then b is added to every row of a (bias broadcast) and its
 * gradient is the sum of dz over those rows.
 */
public final class Add implements Op {
  private static final Kernel FORWARD = Kernel.of("add", "add_forward").ints("n", "m").buffers("a", "b", "z");
  private static final Kernel BACKWARD = Kernel.of("add", "add_backward").ints("n").buffers("dz", "da").ints("acc");
  private static final Kernel BACKWARD_BROADCAST = Kernel.of("add", "add_backward_broadcast").ints("n", "m")
      .buffers("dz", "db").ints("acc");

  @Override
  public String kind() {
    return "add";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("a", "b");
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape a = c.in(0), b = c.in(1);
    if (a.equals(b)) return a;
    if (!b.hasBatch() && a.endsWith(b)) return a;
    throw c.error("cannot add '%s' %s and '%s' %s: shapes must be equal, or the second must match "
        + "the trailing dimensions of the first", c.name(0), a, c.name(1), b);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float[] a = in[0].data, b = in[1].data, z = out.data;
    int n = out.size(), m = in[1].size();
    if (m == n) {
      for (int i = 0; i < n; i++) z[i] = a[i] + b[i];
    } else {
      System.arraycopy(a, 0, z, 0, n);
      Blas.addRowVector(z, n / m, m, b);
    }
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    float[] dz = dOut.data;
    int n = out.size(), m = in[1].size();
    if (dIn[0] != null) {
      float[] da = dIn[0].data;
      for (int i = 0; i < n; i++) da[i] += dz[i];
    }
    if (dIn[1] != null) {
      if (m == n) {
        float[] db = dIn[1].data;
        for (int i = 0; i < n; i++) db[i] += dz[i];
      } else {
        Blas.addColumnSums(dz, n / m, m, dIn[1].data);
      }
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    int n = k.outShape().size(0), m = k.inShape(1).size(0);
    k.launch(FORWARD, over(n), n, m, k.in(0), k.in(1), k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    int n = k.outShape().size(0), m = k.inShape(1).size(0);
    if (k.dIn(0) != null) k.launch(BACKWARD, over(n), n, k.dOut(), k.dIn(0), k.accumulate(0));
    if (k.dIn(1) != null) k.launch(BACKWARD_BROADCAST, over(m), n, m, k.dOut(), k.dIn(1), k.accumulate(1));
  }

  @Override
  public int reductionLength(Shape[] in) {
    return in[0].size(0) / in[1].size(0);
  }
}
