package dev.nodal.backend;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.State;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Runs one graph on two backends from the same parameters and inputs and compares every node's
 * output and gradient: the device parity check, as an API.
 *
 * <p>A tensor matches when {@code max|a − b| ≤ ATOL + rtol · max|b|}, b being the reference.
 * Each op's own relative tolerance is {@link #ELEMENTWISE_RTOL} for elementwise ops and
 * {@code REDUCTION_RTOL · sqrt(max(1, L / 64))} for ops that sum L products (GEMM, softmax,
 * losses). Differences propagate, so a node's budget is its own tolerance plus the largest budget
 * among its inputs; a gradient's budget adds the largest budget of the forward pass and of the
 * gradients flowing into it.
 */
public final class Parity {
  public static final double ATOL = 1e-6;
  public static final double ELEMENTWISE_RTOL = 1e-6;
  public static final double REDUCTION_RTOL = 1e-4;

  private Parity() {}

  /** The comparison of one tensor. */
  public record Diff(double maxAbs, double maxRel, double refMaxAbs, double tolerance) {
    public boolean ok() {
      return maxAbs <= tolerance;
    }

    static Diff of(float[] test, float[] ref, double rtol) {
      double maxAbs = 0, maxRel = 0, refMax = 0;
      for (int i = 0; i < ref.length; i++) {
        double d = Math.abs((double) test[i] - ref[i]);
        if (!(d <= maxAbs)) maxAbs = Double.isNaN(d) ? Double.POSITIVE_INFINITY : d; // NaN never passes
        if (ref[i] != 0) maxRel = Math.max(maxRel, d / Math.abs(ref[i]));
        refMax = Math.max(refMax, Math.abs(ref[i]));
      }
      return new Diff(maxAbs, maxRel, refMax, ATOL + rtol * refMax);
    }
  }

  /** One node's comparison; {@code gradient} is null for nodes without one. */
  public record Entry(Node node, Diff value, Diff gradient) {
    public boolean ok() {
      return value.ok() && (gradient == null || gradient.ok());
    }
  }

  /** Per-node results in topological order, and which backends were compared. */
  public record Report(String test, String reference, List<Entry> entries, float testLoss, float referenceLoss) {
    public boolean ok() {
      return entries.stream().allMatch(Entry::ok);
    }

    /**
     * The first node whose output diverges (in forward order), else the first whose gradient
     * diverges (in backward order); null when everything matches.
     */
    public Entry firstDivergence() {
      for (Entry e : entries) if (!e.value().ok()) return e;
      for (int i = entries.size() - 1; i >= 0; i--) {
        Entry e = entries.get(i);
        if (e.gradient() != null && !e.gradient().ok()) return e;
      }
      return null;
    }

    /**
     * A table: node, kind, the value's max abs/rel difference and the tolerance its abs difference
     * must stay within, the same for the gradient, and the verdict (ok when both abs differences
     * are within their tolerances).
     */
    public String format() {
      StringBuilder sb = new StringBuilder();
      sb.append(String.format(Locale.ROOT, "parity: %s against reference %s%n", test, reference));
      sb.append(String.format(Locale.ROOT, "%-24s %-22s %11s %11s %11s %11s %11s %11s  %s%n", "node", "kind", "value abs",
          "value rel", "value tol", "grad abs", "grad rel", "grad tol", "verdict"));
      for (Entry e : entries) {
        sb.append(String.format(Locale.ROOT, "%-24s %-22s %11.3e %11.3e %11.3e %11s %11s %11s  %s%n", e.node().name(),
            e.node().kind(), e.value().maxAbs(), e.value().maxRel(), e.value().tolerance(),
            e.gradient() == null ? "-" : String.format(Locale.ROOT, "%.3e", e.gradient().maxAbs()),
            e.gradient() == null ? "-" : String.format(Locale.ROOT, "%.3e", e.gradient().maxRel()),
            e.gradient() == null ? "-" : String.format(Locale.ROOT, "%.3e", e.gradient().tolerance()),
            e.ok() ? "ok" : "DIVERGES"));
      }
      Entry first = firstDivergence();
      sb.append(first == null ? "all nodes match" : "first divergence: " + first.node().kind() + " '" + first.node().name() + "'");
      if (!Float.isNaN(referenceLoss)) sb.append(String.format(Locale.ROOT, "%nloss: %.8g (reference %.8g)", testLoss, referenceLoss));
      return sb.append(System.lineSeparator()).toString();
    }
  }

  /** The relative tolerance of one node's own computation. */
  public static double ownTolerance(Node node, int batch) {
    if (!(node instanceof Apply a)) return 0;
    Shape[] in = a.inputs().stream().map(i -> i.shape().resolve(batch)).toArray(Shape[]::new);
    int length = a.op().reductionLength(in);
    return length <= 1 ? ELEMENTWISE_RTOL : REDUCTION_RTOL * Math.sqrt(Math.max(1.0, length / 64.0));
  }

  /**
   * Compiles {@code graph} on both backends (keeping every value), sets the same inputs (by input
   * name), runs forward and, when the graph has a loss, backward, and compares.
   */
  public static Report compare(Graph graph, Backend test, Backend reference, Map<String, float[]> inputs) {
    return compare(graph, test, reference, inputs, true);
  }

  /**
   * As {@link #compare(Graph, Backend, Backend, Map)}, in training mode (forward and backward) or
   * in evaluation mode (forward only).
   */
  public static Report compare(Graph graph, Backend test, Backend reference, Map<String, float[]> inputs,
      boolean training) {
    int batch = 0;
    for (Input in : graph.inputs()) {
      float[] data = inputs.get(in.name());
      if (data == null) throw new IllegalArgumentException("parity: no data for input '" + in.name() + "'");
      batch = data.length / in.shape().exampleSize();
    }
    CompileOptions options = CompileOptions.maxBatch(Math.max(1, batch)).keepAll();
    try (Session t = test.compile(graph, options); Session r = reference.compile(graph, options)) {
      for (Session s : new Session[] {t, r}) {
        for (Input in : graph.inputs()) s.setInput(in, inputs.get(in.name()));
        s.setTraining(training);
        s.forward();
        if (graph.loss() != null && training) s.backward();
      }
      return compare(graph, t, r, batch, test.name(), reference.name(), training);
    }
  }

  /** Compares two sessions of one graph that have run the same step. */
  public static Report compare(Graph graph, Session test, Session reference, int batch, String testName,
      String referenceName) {
    return compare(graph, test, reference, batch, testName, referenceName, true);
  }

  private static Report compare(Graph graph, Session test, Session reference, int batch, String testName,
      String referenceName, boolean withGradients) {
    List<Node> nodes = graph.nodes();
    double[] budget = new double[nodes.size()];
    double forwardMax = 0;
    for (Node n : nodes) {
      double inMax = 0;
      for (Node in : n.inputs()) inMax = Math.max(inMax, budget[in.id()]);
      budget[n.id()] = ownTolerance(n, batch) + inMax;
      // A state is written by its consumer, with that consumer's rounding.
      if (n instanceof State) for (Node c : graph.consumers(n)) budget[n.id()] = ownTolerance(c, batch);
      forwardMax = Math.max(forwardMax, budget[n.id()]);
    }
    double[] gradBudget = new double[nodes.size()];
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node n = nodes.get(i);
      double fromConsumers = 0;
      for (Node c : graph.consumers(n)) fromConsumers = Math.max(fromConsumers, gradBudget[c.id()] + ownTolerance(c, batch));
      gradBudget[i] = forwardMax + fromConsumers;
    }
    List<Entry> entries = new ArrayList<>();
    for (Node n : nodes) {
      Diff v = Diff.of(test.value(n), reference.value(n), budget[n.id()]);
      Diff g = withGradients && graph.needsGradient(n) ? Diff.of(test.gradient(n), reference.gradient(n), gradBudget[n.id()]) : null;
      entries.add(new Entry(n, v, g));
    }
    boolean hasLoss = graph.loss() != null;
    return new Report(testName, referenceName, entries, hasLoss ? test.loss() : Float.NaN,
        hasLoss ? reference.loss() : Float.NaN);
  }
}
