package dev.nodal.plan;

import dev.nodal.graph.Kernel;
import dev.nodal.tensor.FusedActivation;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One launch of a step, as data a backend lowers to its own: a kernel over a grid of work-items
 * ({@link Grid}), a kernel over work-groups that each reduce a row ({@link Rows}), or a batch of
 * matrix products ({@link Product}). Nothing here is of a particular device: source files,
 * work-group sizes, local memory and GEMM tiles are the backend's (for OpenCL,
 * {@code dev.nodal.backend.opencl}). An executor turns each launch into a kernel object once,
 * sets its arguments once and enqueues it on every step.
 */
public sealed interface Launch permits Launch.Grid, Launch.Rows, Launch.Product {
  /** The node whose op asked for it, or a phase name ({@code update}). */
  String node();

  /**
   * {@code kernel} over {@code counts} work-items per dimension (1 to 3), in work-groups of
   * {@code group} when the op asked for that size (null: the backend picks).
   */
  record Grid(String node, Kernel kernel, List<Arg> args, int[] counts, int[] group) implements Launch {
    public Grid {
      args = List.copyOf(args);
      counts = counts.clone();
      group = group == null ? null : group.clone();
    }
  }

  /**
   * {@code kernel} as {@code groups} work-groups of a power-of-two size the backend picks, one row
   * each; the backend appends the kernel's group scratch array.
   */
  record Rows(String node, Kernel kernel, List<Arg> args, int groups) implements Launch {
    public Rows {
      args = List.copyOf(args);
    }
  }

  /** A matrix operand of a {@link Product}: as {@link dev.nodal.graph.Launcher.Matrix}, with its buffer resolved. */
  record Operand(Buf buffer, int offset, int ld, boolean transposed, int batchStride) {}

  /**
   * {@code batch} products summed {@code sum} at a time, as {@link dev.nodal.graph.Launcher#gemm}
   * describes: {@code C_z = alpha·Σ op(A_e)·op(B_e) + beta·C_z}, then the epilogue (a bias per row
   * ({@code biasMode} 1) or column (2) from {@code bias} at {@code biasOffset}, or none (0), then
   * {@code activation}).
   */
  record Product(String node, int batch, int sum, int m, int n, int k, float alpha, Operand a, Operand b, float beta,
      Operand c, Buf bias, int biasOffset, int biasMode, FusedActivation activation) implements Launch {
    /** The outputs of this launch: {@code batch} products summed {@code sum} at a time. */
    public int outputs() {
      return (batch + sum - 1) / sum;
    }

    /** K times the products one output sums. */
    public int innerLength() {
      return k * Math.min(sum, batch);
    }
  }

  /** A kernel argument. */
  sealed interface Arg permits Buf, Slot, I32, F32, Hyper, Step {}

  /** A logical buffer of the plan, by index into {@link StepPlan#buffers()}. */
  record Buf(int buffer) implements Arg {}

  /**
   * The whole block of optimizer state slot {@code slot}: laid out like the parameters block and
   * owned by the session, since it exists only once an optimizer is set.
   */
  record Slot(int slot) implements Arg {}

  /** A 32-bit {@code int}. */
  record I32(int value) implements Arg {}

  /** A 32-bit {@code float}. */
  record F32(float value) implements Arg {}

  /** The optimizer's hyper-parameter of this index, set before each update when it changed. */
  record Hyper(int index) implements Arg {}

  /**
   * The optimizer's step count as an {@code int} (wrapping), set before each pass when it
   * changed: what random ops seed from (see {@link dev.nodal.graph.Pass#step}).
   */
  record Step() implements Arg {}

  /** An argument as {@code nodal plan} prints it, buffers named from the plan. */
  static String describe(Arg arg, StepPlan plan) {
    if (arg instanceof Buf b) return plan.buffers().get(b.buffer()).name();
    if (arg instanceof Slot st) return "state" + st.slot();
    if (arg instanceof Step) return "step";
    if (arg instanceof I32 i) return Integer.toString(i.value());
    if (arg instanceof F32 f) return Float.toString(f.value());
    return "hyper" + ((Hyper) arg).index();
  }

  /** One line: node, kernel or product, sizes and arguments, with buffers named from the plan. */
  default String describe(StepPlan plan) {
    if (this instanceof Product p) {
      String operands = List.of(p.a(), p.b(), p.c()).stream()
          .map(o -> describe(o.buffer(), plan) + (o.transposed() ? "ᵀ" : "") + (o.offset() > 0 ? "+" + o.offset() : ""))
          .collect(Collectors.joining(", "));
      return String.format(Locale.ROOT, "%-14s gemm %dx%dx%d, batch %d summing %d (%s)%s%s", p.node(), p.m(), p.n(), p.k(),
          p.batch(), p.sum(), operands, p.biasMode() == 0 ? "" : " + bias " + describe(p.bias(), plan),
          p.activation() == FusedActivation.NONE ? "" : ", " + p.activation().name().toLowerCase(Locale.ROOT));
    }
    List<Arg> args = this instanceof Grid g ? g.args() : ((Rows) this).args();
    String a = args.stream().map(arg -> describe(arg, plan)).collect(Collectors.joining(", "));
    if (this instanceof Grid g) {
      return String.format(Locale.ROOT, "%-14s %s:%s over %s%s (%s)", g.node(), g.kernel().program(), g.kernel().function(),
          Arrays.toString(g.counts()), g.group() == null ? "" : " in groups of " + Arrays.toString(g.group()), a);
    }
    Rows r = (Rows) this;
    return String.format(Locale.ROOT, "%-14s %s:%s over %d group%s (%s)", r.node(), r.kernel().program(),
        r.kernel().function(), r.groups(), r.groups() == 1 ? "" : "s", a);
  }
}
