package dev.nodal.backend;

import dev.nodal.plan.Keep;
import java.util.Set;

/**
 * How a graph is compiled. {@code maxBatch} sizes every buffer. Buffers whose lifetimes within a
 * step do not overlap share memory, so only some values and gradients survive a step: those of
 * parameters, inputs, the loss and nodes that feed nothing, plus any named in {@code keep}, or all
 * with {@code keepAll} (for debugging and parity runs, at the cost of memory).
 *
 * <p>{@code checkNumerics} checks every node's output after each forward, every gradient after
 * each backward and every parameter after each update, and names the first node that holds NaN
 * or infinity, with the phase ({@link NonFiniteException}). It keeps every buffer (no sharing)
 * and reads them all back: for finding a fault, not for speed.
 */
public record CompileOptions(int maxBatch, boolean keepEverything, Set<String> keep, boolean checkNumerics) {

  public CompileOptions {
    if (maxBatch < 1) throw new IllegalArgumentException("maxBatch must be >= 1, got " + maxBatch);
    keep = Set.copyOf(keep);
  }

  public static CompileOptions maxBatch(int maxBatch) {
    return new CompileOptions(maxBatch, false, Set.of(), false);
  }

  /** Also keeps the values (and gradients, where they exist) of the named nodes. */
  public CompileOptions keep(String... names) {
    java.util.Set<String> k = new java.util.HashSet<>(keep);
    k.addAll(java.util.List.of(names));
    return new CompileOptions(maxBatch, keepEverything, k, checkNumerics);
  }

  /** The plan's view of what is kept: everything when numerics are checked. */
  public Keep keepRule() {
    return new Keep(keepEverything || checkNumerics, keep);
  }

  /** Checks every value and gradient for NaN and infinity after each pass (see the class comment). */
  public CompileOptions checkNumerics(boolean on) {
    return new CompileOptions(maxBatch, keepEverything, keep, on);
  }

  /** Keeps every value and gradient readable after a step. */
  public CompileOptions keepAll() {
    return new CompileOptions(maxBatch, true, keep, checkNumerics);
  }
}
