package dev.nodal.plan;

import dev.nodal.graph.Node;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * A compiled graph as data, for any backend: the order, every logical buffer with its lifetime
 * and where it lives, and the kernel launches of each phase. Built by {@link Planner}; printed by
 * {@code nodal plan}; executed by the backends (the CPU runs each op's Java code in the same
 * order over the same memory; OpenCL replays the launches).
 *
 * <p>Memory: parameters, their gradients and each optimizer state slot live in flat blocks, one
 * region each, with every parameter at the same aligned offset in each, so that one launch
 * updates all parameters and one transfer moves all gradients. Inputs and kept values have
 * regions of their own; every other value and gradient shares a pool region with buffers whose
 * lifetimes do not overlap ({@link BufferPlanner}).
 */
public final class StepPlan {
  /** Lifetimes are step times: forward of node i at i, its backward at 2n − 1 − i. */
  public static final int ALWAYS = BufferPlanner.ALWAYS;

  /**
   * A region of memory that executors allocate.
   *
   * @param block true for a flat block of per-parameter views (parameters, gradients, state)
   */
  public record Region(String name, long bytes, boolean block) {}

  /**
   * A logical buffer: one node's value or gradient, or a view of a block.
   *
   * @param region index into {@link #regions()}
   * @param offset bytes from the region's start (non-zero only in blocks, and then aligned)
   */
  public record Buffer(String name, long bytes, int region, long offset, int start, int end) {
    public boolean persistent() {
      return start == ALWAYS;
    }
  }

  /** The launches of one batch size: forward, then backward (first writers overwrite). */
  public record Steps(int batch, List<Launch> forward, List<Launch> backward) {}

  private final List<Node> order;
  private final List<Region> regions;
  private final List<Buffer> buffers;
  private final int[] valueBuffer;
  private final int[] gradientBuffer;
  private final int[][] workBuffers;
  private final int[][][] scratchBuffers;
  private final Map<String, Integer> blocks;
  private final List<List<Node>> firstWrites;

  StepPlan(List<Node> order, List<Region> regions, List<Buffer> buffers, int[] valueBuffer, int[] gradientBuffer,
      int[][] workBuffers, int[][][] scratchBuffers, Map<String, Integer> blocks, List<List<Node>> firstWrites) {
    this.order = List.copyOf(order);
    this.regions = List.copyOf(regions);
    this.buffers = List.copyOf(buffers);
    this.valueBuffer = valueBuffer;
    this.gradientBuffer = gradientBuffer;
    this.workBuffers = workBuffers;
    this.scratchBuffers = scratchBuffers;
    this.blocks = Map.copyOf(blocks);
    this.firstWrites = firstWrites;
  }

  public List<Node> order() {
    return order;
  }

  public List<Region> regions() {
    return regions;
  }

  public List<Buffer> buffers() {
    return buffers;
  }

  /** The buffer of a node's value. */
  public int value(Node node) {
    return valueBuffer[node.id()];
  }

  /** The buffer of a node's gradient, or −1 when it has none. */
  public int gradient(Node node) {
    return gradientBuffer[node.id()];
  }

  /** The buffers of a node's {@link dev.nodal.graph.Op#workspace}, in its order; empty for most nodes. */
  public int[] work(Node node) {
    return workBuffers[node.id()].clone();
  }

  /**
   * The buffers of a node's {@link dev.nodal.graph.Op#scratch} for its forward pass, or for its
   * backward pass: each lives for that one pass; empty for most nodes.
   */
  public int[] scratch(Node node, boolean backward) {
    return scratchBuffers[node.id()][backward ? 1 : 0].clone();
  }

  /** The whole-block buffer of {@code "parameters"}, {@code "gradients"} or {@code "state<k>"}. */
  public int block(String name) {
    Integer b = blocks.get(name);
    if (b == null) throw new IllegalArgumentException("no block '" + name + "' in this plan");
    return b;
  }

  /** Floats in each flat block (parameters with their alignment padding); 0 without parameters. */
  public int blockFloats() {
    Integer b = blocks.get("parameters");
    return b == null ? 0 : (int) (buffers.get(b).bytes() / 4);
  }

  /** True when the plan has a block of that name. */
  public boolean hasBlock(String name) {
    return blocks.containsKey(name);
  }

  /**
   * The nodes whose gradient {@code node}'s backward writes first in a backward pass: an
   * executor whose ops add (the CPU) zeroes these just before that backward.
   */
  public List<Node> firstWrites(Node node) {
    return firstWrites.get(node.id());
  }

  /** Bytes the regions take, and what the logical buffers would take without sharing. */
  public long regionBytes() {
    return regions.stream().mapToLong(Region::bytes).sum();
  }

  public long unsharedBytes() {
    long sum = 0;
    for (Buffer b : buffers) if (!regions.get(b.region()).block()) sum += b.bytes();
    for (Region r : regions) if (r.block()) sum += r.bytes();
    return sum;
  }

  /** What {@code nodal plan} prints: launches per phase and memory with and without sharing. */
  public String format(Steps steps, List<Launch> update) {
    StringBuilder sb = new StringBuilder();
    List<List<Launch>> phases = new ArrayList<>(List.of(steps.forward(), steps.backward(), update));
    String[] names = {"forward", "backward", "update"};
    int total = 0;
    for (int p = 0; p < 3; p++) {
      int n = phases.get(p).size();
      sb.append(String.format(Locale.ROOT, "%s: %d launch%s%n", names[p], n, n == 1 ? "" : "es"));
      for (Launch l : phases.get(p)) sb.append("  ").append(l.describe(this)).append(System.lineSeparator());
      total += phases.get(p).size();
    }
    sb.append(String.format(Locale.ROOT, "step: %d launches at batch %d, 0 fills%n", total, steps.batch()));
    sb.append(String.format(Locale.ROOT, "memory: %d regions, %.2f MiB; without sharing %.2f MiB (optimizer state not "
        + "included: %d floats per slot)%n", regions.size(), regionBytes() / 1048576.0, unsharedBytes() / 1048576.0,
        blockFloats()));
    return sb.toString();
  }
}
