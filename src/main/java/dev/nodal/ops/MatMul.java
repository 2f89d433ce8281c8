package dev.nodal.ops;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Launcher.Buffer;
import dev.nodal.graph.Launcher.Matrix;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Batched matrix product, as PyTorch's {@code torch.matmul} on operands of rank 2 or more:
 * {@code a [..., M, K]} times {@code b [..., K, N]} gives {@code [..., M, N]}, one product per
 * batch member. The batch dimensions (all but the last two) broadcast as PyTorch's do: aligned
 * from the right, a missing dimension or one of size 1 repeats the operand, so
 * {@code [2, 1, M, K] × [3, K, N]} gives {@code [2, 3, M, N]} and {@code [N, T, D] × [D, E]} uses
 * one weight for every example. With {@code transA} ({@code trans_a}), a is read as its
 * transpose in the last two dimensions ({@code a.transpose(-1, -2)}, stored {@code [..., K, M]});
 * likewise {@code transB} for b, stored {@code [..., N, K]}. Transposes are read in place.
 *
 * <p>Backward: {@code dA += dC·op(B)ᵀ} and {@code dB += op(A)ᵀ·dC} per batch member, transposed
 * back where the operand was read transposed, and summed over the batch dimensions along which
 * the operand was broadcast: a weight shared by every member gets the sum of their gradients.
 *
 * <p>On a device a product is one batched GEMM ({@link Launcher#gemm(int, int, int, int, int, float,
 * Matrix, Matrix, float, Matrix) Launcher.gemm}): an operand shared by the batch is read with
 * batch stride 0, and the gradient of a shared operand sums the members inside that GEMM (its
 * {@code sum} groups) rather than in a reduction afterwards. A sequence times a shared weight
 * ({@code [..., M, K] × [K, N]}) folds its batch into M, one plain product whose weight gradient
 * is {@code [B·M, K]ᵀ·[B·M, N]}. Batch dimensions broadcast differently from one axis to the next
 * ({@code [2, 1, M, K] × [3, K, N]}) take one launch per index of the outer ones. The CPU runs
 * one GEMM per member, at offsets into the operands.
 *
 * <p>A leading {@link Shape#BATCH} dimension on either operand stays the output's first: it may
 * be a batch dimension matched by the other operand's own batch dimension, by a 1 or by nothing,
 * or, for a rank-2 left operand read untransposed, its rows M. Operands of rank 1 (PyTorch's
 * vector cases) are refused: give a vector a dimension of 1.
 */
public final class MatMul implements Op {
  /** The graph file's attributes of a matmul: both default to false, as files without them mean. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.bool("trans_a", false),
      AttributeSchema.bool("trans_b", false));

  private final boolean transA;
  private final boolean transB;

  /** {@code a·b}, neither operand transposed. */
  public MatMul() {
    this(false, false);
  }

  /** {@code op(a)·op(b)}, where {@code op} transposes the last two dimensions of an operand when asked. */
  public MatMul(boolean transA, boolean transB) {
    this.transA = transA;
    this.transB = transB;
  }

  static MatMul fromAttributes(AttributeSchema.Values a) {
    return new MatMul(a.bool("trans_a"), a.bool("trans_b"));
  }

  @Override
  public String kind() {
    return "matmul";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("a", "b");
  }

  /** The transposes that are set; none for a plain product, as graph files without them read. */
  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    if (transA) a.put("trans_a", true);
    if (transB) a.put("trans_b", true);
    return a;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape a = c.in(0), b = c.in(1);
    for (int i = 0; i < 2; i++) {
      if (c.in(i).rank() < 2) {
        throw c.error("input '%s' must have rank 2 or more ([..., rows, columns]), has shape %s", c.name(i), c.in(i));
      }
    }
    int m = a.dim(transA ? -1 : -2), ka = a.dim(transA ? -2 : -1);
    int kb = b.dim(transB ? -1 : -2), n = b.dim(transB ? -2 : -1);
    if (ka == Shape.BATCH || kb == Shape.BATCH) {
      throw c.error("'%s' %s and '%s' %s would sum over the batch dimension N", c.name(0), a, c.name(1), b);
    }
    if (ka != kb) {
      throw c.error("'%s' %s%s has %d columns, '%s' %s%s has %d rows", c.name(0), a, transA ? " transposed" : "", ka,
          c.name(1), b, transB ? " transposed" : "", kb);
    }
    int rank = Math.max(a.rank(), b.rank());
    int[] out = new int[rank];
    for (int i = 0; i < rank - 2; i++) {
      int da = Axes.aligned(a, i, rank), db = Axes.aligned(b, i, rank);
      if (da != db && da != 1 && db != 1) {
        throw c.error("batch dimensions of '%s' %s and '%s' %s do not broadcast: %s against %s", c.name(0), a,
            c.name(1), b, Axes.text(da), Axes.text(db));
      }
      out[i] = da == 1 ? db : da;
    }
    out[rank - 2] = m;
    out[rank - 1] = n;
    for (int i = 1; i < rank; i++) {
      if (out[i] == Shape.BATCH) {
        throw c.error("'%s' %s and '%s' %s would put the batch dimension N at dimension %d of the output; it must "
            + "stay first", c.name(0), a, c.name(1), b, i);
      }
    }
    return Shape.of(out);
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Layout l = Layout.of(in[0].shape, in[1].shape, transA, transB);
    run(pass, l.forward(), in[0].data, in[1].data, 0f, out.data);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Layout l = Layout.of(in[0].shape, in[1].shape, transA, transB);
    if (dIn[0] != null) {
      Product p = l.gradientA();
      run(pass, p, transA ? in[1].data : dOut.data, transA ? dOut.data : in[1].data, 1f, dIn[0].data);
    }
    if (dIn[1] != null) {
      Product p = l.gradientB();
      run(pass, p, transB ? dOut.data : in[0].data, transB ? in[0].data : dOut.data, 1f, dIn[1].data);
    }
  }

  /** The product's members on the CPU, one GEMM each: each reads its operands in place. */
  private static void run(Pass pass, Product p, float[] x, float[] y, float beta, float[] z) {
    for (Block b : p.blocks()) {
      for (int e = 0; e < b.batch; e++) {
        pass.cpu().gemm(p.tx, p.ty, p.m, p.n, p.k, 1f, x, b.x + e * b.xStride, y, b.y + e * b.yStride, beta, z,
            b.z + e / b.sum * b.zStride);
      }
    }
  }

  @Override
  public void forwardKernels(Launcher k) {
    Layout l = Layout.of(k.inShape(0), k.inShape(1), transA, transB);
    launch(k, l.forward(), k.in(0), k.in(1), 0, k.out());
  }

  @Override
  public void backwardKernels(Launcher k) {
    Layout l = Layout.of(k.inShape(0), k.inShape(1), transA, transB);
    if (k.dIn(0) != null) {
      launch(k, l.gradientA(), transA ? k.in(1) : k.dOut(), transA ? k.dOut() : k.in(1), k.accumulate(0), k.dIn(0));
    }
    if (k.dIn(1) != null) {
      launch(k, l.gradientB(), transB ? k.dOut() : k.in(0), transB ? k.in(0) : k.dOut(), k.accumulate(1), k.dIn(1));
    }
  }

  /**
   * The product's blocks on a device, one launch each. {@code acc} (0 or 1, as
   * {@link Launcher#accumulate}) applies to the first launch that writes a part of z; a later one
   * that writes the same part (z broadcast along a looped dimension) adds to it.
   */
  private static void launch(Launcher k, Product p, Buffer x, Buffer y, int acc, Buffer z) {
    Set<Integer> written = new HashSet<>();
    for (Block b : p.blocks()) {
      float beta = written.add(b.z) ? acc : 1;
      Matrix mx = (p.tx ? Matrix.of(x, p.m).t() : Matrix.of(x, p.k)).plus(b.x).everyBatch(b.xStride);
      Matrix my = (p.ty ? Matrix.of(y, p.k).t() : Matrix.of(y, p.n)).plus(b.y).everyBatch(b.yStride);
      Matrix mz = Matrix.of(z, p.n).plus(b.z).everyBatch(b.zStride);
      k.gemm(b.batch, b.sum, p.m, p.n, p.k, 1f, mx, my, beta, mz);
    }
  }

  /**
   * The longest product a sum runs through: K for the output, N for a's gradient and M for b's,
   * each times the batch members summed into one element of an operand broadcast over them.
   */
  @Override
  public int reductionLength(Shape[] in) {
    Layout l = Layout.of(in[0], in[1], transA, transB);
    return Math.max(l.k, Math.max(l.n * l.shared(l.aStrides), l.m * l.shared(l.bStrides)));
  }

  /**
   * The dimensions of a product on resolved shapes: M, N, K, the output's batch dimensions, and
   * for each of them the step of a and of b from one index to the next (0 where that operand is
   * broadcast).
   */
  private static final class Layout {
    final boolean transA;
    final boolean transB;
    final int m;
    final int n;
    final int k;
    final int[] sizes;
    final int[] aStrides;
    final int[] bStrides;
    final int[] cStrides;

    Layout(Shape a, Shape b, boolean transA, boolean transB) {
      this.transA = transA;
      this.transB = transB;
      m = a.dim(transA ? -1 : -2);
      k = a.dim(transA ? -2 : -1);
      n = b.dim(transB ? -2 : -1);
      int rank = Math.max(a.rank(), b.rank()) - 2;
      sizes = new int[rank];
      aStrides = new int[rank];
      bStrides = new int[rank];
      cStrides = new int[rank];
      int sa = m * k, sb = k * n, sc = m * n;
      for (int i = rank - 1; i >= 0; i--) {
        int da = Axes.aligned(a, i, rank + 2), db = Axes.aligned(b, i, rank + 2);
        sizes[i] = Math.max(da, db);
        aStrides[i] = da == 1 ? 0 : sa;
        bStrides[i] = db == 1 ? 0 : sb;
        cStrides[i] = sizes[i] == 1 ? 0 : sc;
        sa *= da;
        sb *= db;
        sc *= sizes[i];
      }
    }

    /**
     * The layout of {@code op(a)·op(b)}. Where a is read untransposed, steps along every batch
     * dimension and b is shared by every member ({@code [..., M, K] × [K, N]}, a sequence times a
     * weight), a's and the output's batch is contiguous rows: the batch folds into M, one plain
     * product {@code [B·M, K] × [K, N]}, whose b gradient {@code [B·M, K]ᵀ·[B·M, N]} sums the batch.
     */
    static Layout of(Shape a, Shape b, boolean transA, boolean transB) {
      Layout l = new Layout(a, b, transA, transB);
      int members = 1;
      for (int size : l.sizes) members *= size;
      if (transA || members == 1 || l.shared(l.aStrides) != 1 || l.shared(l.bStrides) != members) return l;
      return new Layout(Shape.of(members * l.m, l.k), Shape.of(b.dim(-2), b.dim(-1)), false, transB);
    }

    /** How many batch members share one matrix of an operand with these strides. */
    int shared(int[] strides) {
      int count = 1;
      for (int i = 0; i < sizes.length; i++) if (strides[i] == 0) count *= sizes[i];
      return count;
    }

    /** {@code C = op(A)·op(B)}. */
    Product forward() {
      return new Product(transA, transB, m, n, k, sizes, aStrides, bStrides, cStrides, m * k, k * n, m * n);
    }

    /** {@code dA += dC·op(B)ᵀ}; with {@code transA}, {@code dAᵀ += op(B)·dCᵀ} (x = B, y = dC). */
    Product gradientA() {
      return transA
          ? new Product(transB, true, k, m, n, sizes, bStrides, cStrides, aStrides, k * n, m * n, m * k)
          : new Product(false, !transB, m, k, n, sizes, cStrides, bStrides, aStrides, m * n, k * n, m * k);
    }

    /** {@code dB += op(A)ᵀ·dC}; with {@code transB}, {@code dBᵀ += dCᵀ·op(A)} (x = dC, y = A). */
    Product gradientB() {
      return transB
          ? new Product(true, transA, n, k, m, sizes, cStrides, aStrides, bStrides, m * n, m * k, k * n)
          : new Product(!transA, false, k, n, m, sizes, aStrides, cStrides, bStrides, m * k, m * n, k * n);
    }
  }

  /**
   * {@code z (+)= op(x)·op(y)} for every batch member, op(x) M×K and op(y) K×N (x stored K×M
   * with {@code tx}, y stored N×K with {@code ty}); member i of the batch dimensions reads x at
   * {@code Σ i_d·xs[d]}, and likewise y and z. Where z's stride is 0 the members sum into one z.
   * Each operand's matrices are contiguous, {@code xSize}, {@code ySize} and {@code zSize} floats.
   */
  private record Product(boolean tx, boolean ty, int m, int n, int k, int[] sizes, int[] xs, int[] ys, int[] zs,
      int xSize, int ySize, int zSize) {

    /**
     * The members in as few blocks as strides allow, for one launch each: the longest run of
     * inner batch dimensions along which x and y each either step or stay, and z steps on the
     * outer ones and stays on the inner ones (those it sums); the outer dimensions are looped.
     * For operands with the same batch dimensions, or one with none, that is one block.
     */
    List<Block> blocks() {
      int rank = sizes.length, split = rank, sum = 1, batch = 1;
      boolean xSteps = false, ySteps = false, zSteps = false, any = false;
      for (int d = rank - 1; d >= 0; d--) {
        if (sizes[d] > 1) {
          boolean xd = xs[d] != 0, yd = ys[d] != 0, zd = zs[d] != 0;
          if (any && (xd != xSteps || yd != ySteps)) break;
          if (zSteps && !zd) break;
          xSteps = xd;
          ySteps = yd;
          zSteps = zd;
          any = true;
          if (!zd) sum *= sizes[d];
        }
        batch *= sizes[d];
        split = d;
      }
      List<Block> out = new ArrayList<>();
      int outer = 1;
      for (int d = 0; d < split; d++) outer *= sizes[d];
      for (int o = 0; o < outer; o++) {
        int x = 0, y = 0, z = 0;
        for (int d = split - 1, rest = o; d >= 0; rest /= sizes[d], d--) {
          int i = rest % sizes[d];
          x += i * xs[d];
          y += i * ys[d];
          z += i * zs[d];
        }
        out.add(new Block(x, y, z, batch, sum, xSteps ? xSize : 0, ySteps ? ySize : 0, zSize));
      }
      return out;
    }
  }

  /**
   * One launch: {@code batch} members from offsets x, y and z, each a stride further, summed
   * {@code sum} at a time into consecutive matrices of z.
   */
  private record Block(int x, int y, int z, int batch, int sum, int xStride, int yStride, int zStride) {}
}
