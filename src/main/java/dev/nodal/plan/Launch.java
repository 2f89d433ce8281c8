package dev.nodal.plan;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * One kernel launch of a step, as data: which kernel of which file, built with which defines, the
 * arguments in the kernel's order, and the global and local sizes. An executor turns it into a
 * kernel object once, sets its arguments once and enqueues it on every step.
 *
 * @param node the node whose op asked for it (for printing), or a phase name
 */
public record Launch(String node, String file, String defines, String kernel, List<Arg> args, long[] global,
    long[] local) {

  /** A kernel argument. */
  public sealed interface Arg permits Buf, Slot, I32, F32, Local, Hyper, Step {}

  /** A logical buffer of the plan, by index into {@link StepPlan#buffers()}. */
  public record Buf(int buffer) implements Arg {}

  /**
   * The whole block of optimizer state slot {@code slot}: laid out like the parameters block and
   * owned by the session, since it exists only once an optimizer is set.
   */
  public record Slot(int slot) implements Arg {}

  /** An OpenCL {@code int}. */
  public record I32(int value) implements Arg {}

  /** An OpenCL {@code float}. */
  public record F32(float value) implements Arg {}

  /** A {@code __local} array of this many bytes. */
  public record Local(long bytes) implements Arg {}

  /** The optimizer's hyper-parameter of this index, set before each update when it changed. */
  public record Hyper(int index) implements Arg {}

  /**
   * The optimizer's step count as an OpenCL {@code int} (wrapping), set before each pass when it
   * changed: what random ops seed from (see {@link dev.nodal.graph.Pass#step}).
   */
  public record Step() implements Arg {}

  private static String describe(Arg arg, StepPlan plan) {
    if (arg instanceof Buf b) return plan.buffers().get(b.buffer()).name();
    if (arg instanceof Slot st) return "state" + st.slot();
    if (arg instanceof Step) return "step";
    if (arg instanceof I32 i) return Integer.toString(i.value());
    if (arg instanceof F32 f) return Float.toString(f.value());
    if (arg instanceof Local l) return "local[" + l.bytes() + "B]";
    return "hyper" + ((Hyper) arg).index();
  }

  /** One line: node, kernel, sizes and arguments, with buffers named from the plan. */
  public String describe(StepPlan plan) {
    String a = args.stream().map(arg -> describe(arg, plan)).collect(Collectors.joining(", "));
    return String.format(Locale.ROOT, "%-14s %s:%s%s global %s local %s (%s)", node, file, kernel,
        defines.isEmpty() ? "" : " [" + defines + "]", Arrays.toString(global), Arrays.toString(local), a);
  }
}
