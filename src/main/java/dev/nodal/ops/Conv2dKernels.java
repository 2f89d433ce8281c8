package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Launcher.GemmEpilogue;
import dev.nodal.graph.Launcher.Matrix;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * A convolution's kernels, in the two forms {@link Conv2d.Algorithm} chooses between: direct (one
 * work-item per element written, with compensated sums) and im2col (patch matrices in the plan's
 * scratch, products batched over a chunk of images, partial weight gradients where one product
 * would leave the device idle), with the scratch each form needs.
 */
final class Conv2dKernels extends Conv2dPart {
  /** A kernel of the program conv2d whose parameters start with the geometry (conv2d.cl's GEOMETRY). */
  private static Kernel geometry(String function) {
    return Kernel.of("conv2d", function)
      .ints("N", "C", "H", "W", "K", "P", "Q", "R", "S", "SH", "SW", "PH", "PW", "DH", "DW",
        "G");
  }

  private static final Kernel FORWARD = geometry("conv2d_forward").buffers("x", "w", "z").ints("act");
  private static final Kernel FORWARD_BIAS = geometry("conv2d_forward_bias").buffers("x", "w", "b", "z").ints("act");
  private static final Kernel ACTIVATION_GRAD = Kernel.of("conv2d", "conv2d_activation_grad").ints("n", "act")
      .buffers("z", "dz", "dy");
  private static final Kernel BACKWARD_INPUT = geometry("conv2d_backward_input").buffers("dz", "w", "dx").ints("acc");
  private static final Kernel BACKWARD_WEIGHT = geometry("conv2d_backward_weight").buffers("dz", "x", "dw").ints("acc");
  private static final Kernel IM2COL = geometry("conv2d_im2col").ints("N0", "NC", "g").buffers("x", "col");
  private static final Kernel COL2IM = geometry("conv2d_col2im").ints("N0", "NC", "g").buffers("dcol", "dx")
      .ints("acc");
  private static final Kernel BIAS_GRAD = Kernel.of("conv2d", "conv2d_bias_grad").ints("N", "K", "PQ")
      .buffers("dz", "db").ints("acc").groupScratch("scratch");
  private static final Kernel SUM_PARTIALS = Kernel.of("conv2d", "conv2d_sum_partials").ints("SPLITS", "SIZE")
      .buffers("part", "dw").ints("off", "acc");

  private final Conv2d op;

  Conv2dKernels(Conv2d op) {
    super(op);
    this.op = op;
  }

  private Object[] geometryArgs(Launcher l) {
    Conv2dGeometry g = Conv2dGeometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    return new Object[] {g.n(), g.c(), g.h(), g.w(), g.k(), g.p(), g.q(), g.r(), g.s(), sh, sw, ph, pw, dh, dw, groups};
  }

  private static Object[] concat(Object[] head, Object... tail) {
    Object[] all = java.util.Arrays.copyOf(head, head.length + tail.length);
    System.arraycopy(tail, 0, all, head.length, tail.length);
    return all;
  }

  /**
   * How the im2col form splits a batch: images per chunk, images per partial weight gradient, and
   * at most how many partials a chunk makes (at any batch up to this one).
   */
  private record Chunking(int images, int perSplit, int maxSplits) {
    static Chunking of(Conv2dGeometry g, int batch, int patchFloats) {
      int crs = g.cg() * g.r() * g.s(), pq = g.p() * g.q();
      int images = (int) Math.max(1, Math.min(batch, patchFloats / ((long) crs * pq)));
      long tiles = (long) ((g.kg() + 63) / 64) * ((crs + 63) / 64);
      int maxSplits = (int) Math.min(images, Math.max(1, (Conv2d.WEIGHT_GRAD_GROUPS + tiles - 1) / tiles));
      return new Chunking(images, (images + maxSplits - 1) / maxSplits, maxSplits);
    }
  }

  /**
   * Forward: the im2col form's patch matrix, for the largest batch. Backward: the patch matrix
   * and the partial weight gradients, then, with an activation, dz·f' over the whole output (the
   * only one in the direct form).
   */
  List<Shape> scratch(Shape[] in, boolean backward) {
    List<Shape> dy = !backward || activation == FusedActivation.NONE ? List.of()
        : List.of(Shape.of(in[0].dim(0), in[1].dim(0), Conv2d.out(in[0].dim(2), in[1].dim(2), sh, ph, dh),
            Conv2d.out(in[0].dim(3), in[1].dim(3), sw, pw, dw)));
    if (!op.usesIm2col(in[0], in[1])) return dy;
    int cg = in[0].dim(1) / groups, k = in[1].dim(0), r = in[1].dim(2), s = in[1].dim(3);
    int p = Conv2d.out(in[0].dim(2), r, sh, ph, dh), q = Conv2d.out(in[0].dim(3), s, sw, pw, dw);
    Conv2dGeometry g = new Conv2dGeometry(in[0].dim(0), in[0].dim(1), in[0].dim(2), in[0].dim(3), k, p, q, r, s, cg, k / groups);
    Chunking c = Chunking.of(g, g.n(), op.patchFloats);
    long crs = (long) cg * r * s;
    Shape patches = Shape.of((int) Math.min(Integer.MAX_VALUE, crs * c.images * p * q));
    if (!backward) return List.of(patches);
    List<Shape> all = new java.util.ArrayList<>(List.of(patches,
        Shape.of((int) Math.min(Integer.MAX_VALUE, c.maxSplits > 1 ? (long) c.maxSplits * g.kg() * crs : 1))));
    all.addAll(dy);
    return List.copyOf(all);
  }

  void forwardKernels(Launcher l) {
    Object[] geo = geometryArgs(l);
    if (!op.usesIm2col(l.inShape(0), l.inShape(1))) {
      l.launch(bias ? FORWARD_BIAS : FORWARD, over(l.outShape().size(0)),
          bias ? concat(geo, l.in(0), l.in(1), l.in(2), l.out(), activation.code())
              : concat(geo, l.in(0), l.in(1), l.out(), activation.code()));
      return;
    }
    Conv2dGeometry g = Conv2dGeometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    int crs = g.cg() * g.r() * g.s(), pq = g.p() * g.q();
    Chunking chunking = Chunking.of(g, g.n(), op.patchFloats);
    for (int n0 = 0; n0 < g.n(); n0 += chunking.images) {
      int nc = Math.min(chunking.images, g.n() - n0);
      for (int group = 0; group < groups; group++) {
        im2col(l, geo, n0, nc, group);
        l.gemm(nc, 1, g.kg(), pq, crs, 1f, Matrix.of(l.in(1), crs).plus(group * g.kg() * crs),
            Matrix.of(l.scratch(0), nc * pq).everyBatch(pq), 0f,
            Matrix.of(l.out(), pq).plus((n0 * g.k() + group * g.kg()) * pq).everyBatch(g.k() * pq),
            GemmEpilogue.rows(bias ? l.in(2) : null, group * g.kg(), activation));
      }
    }
  }

  private void im2col(Launcher l, Object[] geo, int n0, int nc, int group) {
    Conv2dGeometry g = Conv2dGeometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    int columns = nc * g.p() * g.q();
    l.launch(IM2COL, over(columns, g.cg() * g.r() * g.s()).inGroupsOf(groupShape(l, columns)),
        concat(geo, n0, nc, group, l.in(0), l.scratch(0)));
  }

  /**
   * A 2-D work-group of 64 work-items (fewer where the device allows fewer), narrowed along
   * dimension 0 to rows of {@code width}.
   */
  private static int[] groupShape(Launcher l, int width) {
    int size = Integer.highestOneBit(Math.max(1, Math.min(64, l.maxWorkGroupSize())));
    int x = width <= 1 ? 1 : Math.min(size, Integer.highestOneBit(width - 1) << 1);
    return new int[] {x, size / x};
  }

  void backwardKernels(Launcher l) {
    Object[] geo = geometryArgs(l);
    Conv2dGeometry g = Conv2dGeometry.of(l.inShape(0), l.inShape(1), l.outShape(), groups);
    int pq = g.p() * g.q();
    boolean im2col = op.usesIm2col(l.inShape(0), l.inShape(1));
    Launcher.Buffer dy = l.dOut();
    if (activation != FusedActivation.NONE) { // dy = dz·f' from the output, in scratch after im2col's
      dy = l.scratch(im2col ? 2 : 0);
      int size = l.outShape().size(0);
      l.launch(ACTIVATION_GRAD, over(size), size, activation.code(), l.out(), l.dOut(), dy);
    }
    if (bias && l.dIn(2) != null) {
      l.launchGroups(BIAS_GRAD, g.k(), g.n(), g.k(), pq, dy, l.dIn(2), l.accumulate(2));
    }
    if (!im2col) {
      if (l.dIn(0) != null) {
        l.launch(BACKWARD_INPUT, over(l.inShape(0).size(0)),
            concat(geo, dy, l.in(1), l.dIn(0), l.accumulate(0)));
      }
      if (l.dIn(1) != null) {
        l.launch(BACKWARD_WEIGHT, over(l.inShape(1).size(0)),
            concat(geo, dy, l.in(0), l.dIn(1), l.accumulate(1)));
      }
      return;
    }
    int crs = g.cg() * g.r() * g.s();
    int accX = l.dIn(0) != null ? l.accumulate(0) : 0, accW = l.dIn(1) != null ? l.accumulate(1) : 0;
    Chunking chunking = Chunking.of(g, g.n(), op.patchFloats);
    for (int n0 = 0; n0 < g.n(); n0 += chunking.images) {
      int nc = Math.min(chunking.images, g.n() - n0);
      int cols = nc * pq;
      for (int group = 0; group < groups; group++) {
        Matrix dz = Matrix.of(dy, pq).plus((n0 * g.k() + group * g.kg()) * pq).everyBatch(g.k() * pq);
        int wOff = group * g.kg() * crs;
        if (l.dIn(1) != null) {
          // dW_g (+)= Σ over the chunk's images of dz_j · col_jᵀ, in partial sums over slices of
          // the chunk when the product alone would leave the device idle.
          im2col(l, geo, n0, nc, group);
          Matrix patchesT = Matrix.of(l.scratch(0), cols).t().everyBatch(pq);
          int perSplit = Math.min(nc, chunking.perSplit), splits = (nc + perSplit - 1) / perSplit;
          float beta = n0 == 0 ? accW : 1;
          if (splits == 1) {
            l.gemm(nc, nc, g.kg(), crs, pq, 1f, dz, patchesT, beta, Matrix.of(l.dIn(1), crs).plus(wOff));
          } else {
            l.gemm(nc, perSplit, g.kg(), crs, pq, 1f, dz, patchesT, 0f,
                Matrix.of(l.scratch(1), crs).everyBatch(g.kg() * crs));
            l.launch(SUM_PARTIALS, over(g.kg() * crs), splits, g.kg() * crs, l.scratch(1),
                l.dIn(1), wOff, (int) beta);
          }
        }
        if (l.dIn(0) != null) {
          // dcol_j = W_gᵀ · dz_j into the patch scratch, then gathered back onto dx.
          l.gemm(nc, 1, crs, pq, g.kg(), 1f, Matrix.of(l.in(1), crs).plus(wOff).t(), dz, 0f,
              Matrix.of(l.scratch(0), cols).everyBatch(pq));
          l.launch(COL2IM, over(nc * g.cg() * g.h() * g.w()),
              concat(geo, n0, nc, group, l.scratch(0), l.dIn(0), accX));
        }
      }
    }
  }
}
