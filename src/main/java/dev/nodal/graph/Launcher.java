package dev.nodal.graph;

import dev.nodal.tensor.FusedActivation;

import dev.nodal.tensor.Shape;

/**
 * What an op sees of a device when it describes its kernels: handles to the buffers of its node
 * and calls that enqueue {@link Kernel}s and products. The plan records the launches once per
 * batch size, with every argument fixed and checked against the kernel's parameters, and a
 * backend lowers them to its own (for OpenCL: source files, work-group sizes, GEMM tiles) and
 * replays them on each step; an op never touches a device directly.
 *
 * <p>Kernel arguments are passed in the kernel's order: a {@link Buffer}, an {@link Integer}
 * (a 32-bit {@code int}) or a {@link Float} ({@code float}).
 */
public interface Launcher {

  /** An opaque handle to a device buffer. */
  interface Buffer {}

  /** How many inputs the node has: what a {@link Op#isVariadic() variadic} op was given. */
  int inputCount();

  /** Shape of input {@code i}, batch resolved. */
  Shape inShape(int i);

  /** Shape of the output, batch resolved. */
  Shape outShape();

  Buffer in(int i);

  Buffer out();

  /** Workspace buffer {@code i} of the op's {@link Op#workspace} list. */
  Buffer work(int i);

  /**
   * Scratch buffer {@code i} of the op's {@link Op#scratch} list, for this pass only: its
   * contents do not survive to the next pass or to the node's other pass.
   */
  Buffer scratch(int i);

  /** The most work-items one work-group may hold on the device, for ops that size their groups. */
  int maxWorkGroupSize();

  /** True when these launches are for training mode, false for evaluation. */
  boolean training();

  /**
   * A kernel argument ({@code int}) that holds the optimizer's step count, wrapping, set anew
   * before each pass: see {@link Pass#step}.
   */
  Object step();

  /** The gradient of the output (backward only). */
  Buffer dOut();

  /** The gradient buffer of input {@code i}, or null when that input needs none (backward only). */
  Buffer dIn(int i);

  /**
   * The write-or-add flag for a launch that writes {@link #dIn(int) dIn(i)}: 0 when it is the
   * first write to that gradient in this backward pass (the kernel overwrites, so no launch zeroes
   * gradients), 1 after that (the kernel adds, which sums fan-out and weight sharing). Call it
   * once per such launch, in launch order: the call records the write. Pass it as the kernel's
   * {@code acc} argument, or as gemm's {@code beta}.
   */
  int accumulate(int i);

  /**
   * The work-items of a launch in one to three dimensions, and optionally the work-group size
   * in each; typed so that it cannot be mistaken for a kernel's int argument.
   *
   * @param counts work-items per dimension, each at least 0
   * @param group the work-group size per dimension, or null to let the plan choose
   */
  record WorkItems(int[] counts, int[] group) {
    public WorkItems {
      if (counts.length < 1 || counts.length > 3) {
        throw new IllegalArgumentException("a launch has 1 to 3 dimensions, not " + counts.length);
      }
      for (int c : counts) if (c < 0) throw new IllegalArgumentException("negative work-item count " + c);
      if (group != null) {
        if (group.length != counts.length) {
          throw new IllegalArgumentException("work-group size " + java.util.Arrays.toString(group) + " for "
              + counts.length + " dimensions");
        }
        for (int g : group) if (g < 1) throw new IllegalArgumentException("work-group size below 1: " + g);
      }
      counts = counts.clone();
      group = group == null ? null : group.clone();
    }

    /** The same work-items in work-groups of this size per dimension. */
    public WorkItems inGroupsOf(int... size) {
      return new WorkItems(counts, size);
    }

    @Override
    public int[] counts() {
      return counts.clone();
    }

    @Override
    public int[] group() {
      return group == null ? null : group.clone();
    }
  }

  /**
   * {@code launch(kernel, over(n), args...)}: a launch over {@code n} work-items, or over
   * an N-dimensional grid with {@code over(x, y)} or {@code over(x, y, z)}; dimension 0 varies
   * fastest, as {@code get_global_id(0)}.
   */
  static WorkItems over(int... counts) {
    return new WorkItems(counts, null);
  }

  /**
   * Enqueues {@code kernel} over {@code items} work-items; the backend rounds each dimension up
   * to a multiple of its work-group size, so the kernel must ignore ids at or past its own bounds.
   * Without an explicit group the backend picks one. The arguments follow the kernel's parameters
   * ({@link Kernel#params}): a {@link Buffer} for a buffer, an {@link Integer} (or
   * {@link #step()}) for an int, a {@link Float} for a float; any other count or type is an error
   * naming the node, the kernel and the argument.
   */
  void launch(Kernel kernel, WorkItems items, Object... args);

  /**
   * Enqueues {@code kernel} as a single work-group, for reductions; the backend supplies the
   * kernel's last parameter, a group scratch array of one float per work-item.
   */
  default void launchGroup(Kernel kernel, Object... args) {
    launchGroups(kernel, 1, args);
  }

  /**
   * Enqueues {@code kernel} as {@code groups} work-groups, each of a power-of-two size the backend
   * picks, for reductions of many rows at once (one row per group, for example a channel's sum
   * over N·H·W); the backend supplies the kernel's last parameter, a group scratch array of one
   * float per work-item. The kernel reads its row from {@code get_group_id(0)}.
   */
  void launchGroups(Kernel kernel, int groups, Object... args);

  /**
   * A matrix operand of {@link #gemm(int, int, int, int, int, float, Matrix, Matrix, float,
   * Matrix) gemm}, row-major: element (i, j) of batch member e is
   * {@code buffer[offset + e·batchStride + i·ld + j]}, or {@code [… + j·ld + i]} when
   * {@code transposed}. Offsets, leading dimensions and batch strides count floats.
   */
  record Matrix(Buffer buffer, int offset, int ld, boolean transposed, int batchStride) {
    public Matrix {
      if (buffer == null) throw new IllegalArgumentException("a gemm operand needs a buffer");
      if (offset < 0 || ld < 1 || batchStride < 0) {
        throw new IllegalArgumentException("gemm operand with offset " + offset + ", leading dimension " + ld
            + ", batch stride " + batchStride);
      }
    }

    /** The whole buffer as one matrix with {@code ld} floats per row. */
    public static Matrix of(Buffer buffer, int ld) {
      return new Matrix(buffer, 0, ld, false, 0);
    }

    /** The matrix starting {@code floats} further into the buffer. */
    public Matrix plus(int floats) {
      return new Matrix(buffer, offset + floats, ld, transposed, batchStride);
    }

    /** The transpose, read in place. */
    public Matrix t() {
      return new Matrix(buffer, offset, ld, !transposed, batchStride);
    }

    /** Batch member e starts {@code e·stride} floats after member 0 (0: every member reads the same). */
    public Matrix everyBatch(int stride) {
      return new Matrix(buffer, offset, ld, transposed, stride);
    }
  }

  /**
   * A batch of products, the backend's GEMM: for each group z of {@code sum} consecutive members
   * of a batch of {@code batch}, {@code C_z = alpha·Σ_e op(A_e)·op(B_e) + beta·C_z}, where
   * {@code op(A_e)} is M×K and {@code op(B_e)} K×N as the {@link Matrix} operands read them and
   * C's batch stride steps from one group to the next. {@code sum == 1} gives {@code batch}
   * independent products; {@code sum == batch}, one product summed over the batch.
   */
  default void gemm(int batch, int sum, int m, int n, int k, float alpha, Matrix a, Matrix b, float beta, Matrix c) {
    gemm(batch, sum, m, n, k, alpha, a, b, beta, c, GemmEpilogue.NONE);
  }

  /** As above, then {@code epilogue} on every element of every C_z as it is written. */
  void gemm(int batch, int sum, int m, int n, int k, float alpha, Matrix a, Matrix b, float beta, Matrix c,
      GemmEpilogue epilogue);

  /**
   * What the product does to each element of C after its sum, as {@link dev.nodal.tensor.Epilogue}
   * does on the CPU: adds {@code bias[offset + i]} to row i ({@code perRow}) or
   * {@code bias[offset + j]} to column j (no bias when {@code bias} is null; the same for every
   * C_z of a batch), then applies the activation.
   */
  record GemmEpilogue(Buffer bias, int offset, boolean perRow, FusedActivation activation) {
    public static final GemmEpilogue NONE = new GemmEpilogue(null, 0, false, FusedActivation.NONE);

    public GemmEpilogue {
      if (offset < 0 || activation == null) {
        throw new IllegalArgumentException("gemm epilogue with bias offset " + offset + " and activation " + activation);
      }
    }

    /** A bias per column (may be null), then {@code activation}. */
    public static GemmEpilogue columns(Buffer bias, FusedActivation activation) {
      return new GemmEpilogue(bias, 0, false, activation);
    }

    /** {@code bias[offset + i]} per row (may be null), then {@code activation}. */
    public static GemmEpilogue rows(Buffer bias, int offset, FusedActivation activation) {
      return new GemmEpilogue(bias, offset, true, activation);
    }

    /** The kernel's bias mode: 0 none, 1 per row, 2 per column. */
    public int biasMode() {
      return bias == null ? 0 : perRow ? 1 : 2;
    }
  }

  /**
   * {@code C = alpha·op(A)·op(B) + beta·C} over whole buffers, with the conventions of
   * {@link dev.nodal.tensor.CpuContext#gemm}: row-major, {@code op(A)} M×K, {@code op(B)} K×N.
   */
  default void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Buffer a, Buffer b,
      float beta, Buffer c) {
    gemm(transA, transB, m, n, k, alpha, a, b, beta, c, GemmEpilogue.NONE);
  }

  /** As above, then {@code epilogue} on every element of C. */
  default void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha, Buffer a, Buffer b,
      float beta, Buffer c, GemmEpilogue epilogue) {
    Matrix ma = transA ? Matrix.of(a, m).t() : Matrix.of(a, k);
    Matrix mb = transB ? Matrix.of(b, k).t() : Matrix.of(b, n);
    gemm(1, 1, m, n, k, alpha, ma, mb, beta, Matrix.of(c, n), epilogue);
  }
}
