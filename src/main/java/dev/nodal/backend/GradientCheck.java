package dev.nodal.backend;

import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.Param;
import dev.nodal.graph.Pass;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Finite-difference gradient checks: the test kit that checks Nodal's own ops, for ops of one's
 * own too ({@link #op(Op, long, int[]...)}).
 *
 * <p>An op is checked through the scalar {@code L = Σ_k z_k·r_k} with a fixed random {@code r}, so
 * that the incoming gradient is {@code r} and every output element matters. The numeric
 * derivative is the central difference {@code (L(x+h) − L(x−h)) / 2h} with {@link #STEP}; the
 * analytic one comes from the op's backward, which must <em>add</em> into the gradient buffers:
 * they are pre-filled with {@link #PREFILL} and that is subtracted afterwards, so an op that
 * overwrites instead of adding fails the check.
 *
 * <p>Tolerances, for float32 forwards: an element passes when
 * {@code |analytic − numeric| ≤ ATOL + RTOL·max(|analytic|, |numeric|)}. With h = 1e-2 the
 * truncation error of the central difference on these smooth ops is about h² ≈ 1e-4 relative,
 * and float32 rounding noise divided by 2h stays below 1e-4; ATOL = 2e-3 and RTOL = 1e-2 leave
 * headroom while any transposed, missing or mis-scaled term (an error of order 1) fails.
 */
public final class GradientCheck {
  public static final double STEP = 1e-2;
  public static final double ATOL = 2e-3;
  public static final double RTOL = 1e-2;
  static final float PREFILL = 0.5f;
  /** At most this many elements per input are checked, chosen at random (all when fewer). */
  static final int MAX_ELEMENTS = 300;

  private GradientCheck() {}

  /** One element whose gradients disagree. */
  public record Mismatch(String where, int element, double analytic, double numeric) {
    @Override
    public String toString() {
      return String.format(java.util.Locale.ROOT, "%s[%d]: analytic %.6g, numeric %.6g", where, element, analytic, numeric);
    }
  }

  /** The outcome of a check: every mismatching element, and how many were compared. */
  public record Report(List<Mismatch> mismatches, int compared) {
    public boolean passed() {
      return mismatches.isEmpty() && compared > 0;
    }

    /** Throws an AssertionError, which test frameworks report as a failure, unless the check passed. */
    public void assertPassed(String what) {
      if (compared == 0) throw new AssertionError(what + ": no gradient element was compared");
      if (!mismatches.isEmpty()) {
        throw new AssertionError(what + ": " + mismatches.size() + " of " + compared + " gradient elements disagree; first: "
            + mismatches.subList(0, Math.min(5, mismatches.size())));
      }
    }
  }

  /**
   * Checks {@code op}'s backward against finite differences for every input, on inputs of the
   * given shapes (the batch first, where the op has one) with seeded values in ±[0.1, 1), away
   * from zero so that a kink at 0 (ReLU's) is never within a step of an input.
   */
  public static Report op(Op op, long seed, int[]... inputShapes) {
    SplittableRandom rnd = new SplittableRandom(seed);
    GraphBuilder g = new GraphBuilder(seed);
    Node[] nodes = new Node[inputShapes.length];
    CpuTensor[] inputs = new CpuTensor[inputShapes.length];
    boolean[] differentiable = new boolean[inputShapes.length];
    for (int i = 0; i < nodes.length; i++) {
      nodes[i] = g.param("in" + i, Init.xavier(), inputShapes[i]); // its values are the inputs below
      inputs[i] = CpuTensor.zeros(Shape.of(inputShapes[i]));
      for (int e = 0; e < inputs[i].data.length; e++) {
        inputs[i].data[e] = (float) ((0.1 + 0.9 * rnd.nextDouble()) * (rnd.nextBoolean() ? 1 : -1));
      }
      differentiable[i] = true;
    }
    Node out = g.apply(op, "out", nodes);
    return op(op, inputs, differentiable, CpuTensor.zeros(out.shape()), seed);
  }

  /**
   * Checks {@code op}'s backward against finite differences for every input whose
   * {@code differentiable} entry is true (labels, for instance, are not).
   */
  public static Report op(Op op, CpuTensor[] inputs, boolean[] differentiable, CpuTensor out, long seed) {
    return op(CpuContext.defaults(), op, inputs, differentiable, out, seed);
  }

  /** As {@link #op(Op, CpuTensor[], boolean[], CpuTensor, long)}, on the CPU context {@code cpu} (its GEMM's options). */
  public static Report op(CpuContext cpu, Op op, CpuTensor[] inputs, boolean[] differentiable, CpuTensor out,
      long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] r = new float[out.size()];
    for (int k = 0; k < r.length; k++) r[k] = (float) (rnd.nextDouble() * 2 - 1);
    if (out.shape.isScalar()) r[0] = 0.7f; // a loss mid-graph: dL/dz is not 1
    CpuTensor dOut = new CpuTensor(r, out.shape);

    Pass pass = pass(cpu, op, inputs);
    op.forward(pass, inputs, out);
    CpuTensor[] dIn = new CpuTensor[inputs.length];
    for (int i = 0; i < inputs.length; i++) {
      if (differentiable[i]) {
        dIn[i] = CpuTensor.zeros(inputs[i].shape);
        dIn[i].fill(PREFILL);
      }
    }
    op.backward(pass, inputs, out, dOut, dIn);

    List<Mismatch> bad = new ArrayList<>();
    int compared = 0;
    for (int i = 0; i < inputs.length; i++) {
      if (!differentiable[i]) continue;
      float[] x = inputs[i].data;
      for (int e : sample(inputs[i].size(), rnd)) {
        float saved = x[e];
        x[e] = (float) (saved + STEP);
        double plus = weightedSum(op, pass, inputs, out, r);
        x[e] = (float) (saved - STEP);
        double minus = weightedSum(op, pass, inputs, out, r);
        x[e] = saved;
        double numeric = (plus - minus) / (2 * STEP);
        double analytic = dIn[i].data[e] - PREFILL;
        compared++;
        if (!close(analytic, numeric)) bad.add(new Mismatch(op.kind() + " input " + i + " (" + op.inputRole(i) + ")", e, analytic, numeric));
      }
    }
    return new Report(bad, compared);
  }

  /**
   * A pass in training mode at step 3, with the workspace the op declares for these inputs, on a
   * CPU context of the default options of its own.
   */
  public static Pass pass(Op op, CpuTensor[] inputs) {
    return pass(CpuContext.defaults(), op, inputs);
  }

  private static Pass pass(CpuContext cpu, Op op, CpuTensor[] inputs) {
    Shape[] shapes = java.util.Arrays.stream(inputs).map(t -> t.shape).toArray(Shape[]::new);
    return Pass.of(cpu, true, 3, op.workspace(shapes).stream().map(CpuTensor::zeros).toArray(CpuTensor[]::new));
  }

  private static double weightedSum(Op op, Pass pass, CpuTensor[] inputs, CpuTensor out, float[] r) {
    op.forward(pass, inputs, out);
    double s = 0;
    for (int k = 0; k < r.length; k++) s += (double) out.data[k] * r[k];
    return s;
  }

  /**
   * Checks a whole graph: the gradient of its loss with respect to every parameter, and to every
   * input that asks for its gradient ({@link Input#requiresGrad()}), from
   * {@code session.backward()}, against finite differences of {@code session.forward()}. The
   * session's inputs must be set; they hold the same values afterwards.
   */
  public static Report graph(Session session, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    session.forward();
    session.backward();
    List<Mismatch> bad = new ArrayList<>();
    int compared = 0;
    for (Param p : session.graph().params()) {
      compared += compare(session, "param '" + p.name() + "'", session.gradient(p), session.value(p),
          values -> session.setParam(p, values), rnd, bad);
    }
    for (Input in : session.graph().inputs()) {
      if (!in.isGradRequested()) continue;
      compared += compare(session, "input '" + in.name() + "'", session.gradient(in), session.value(in),
          values -> session.setInput(in, values), rnd, bad);
    }
    return new Report(bad, compared);
  }

  /**
   * Compares {@code grad} with central differences of the loss, moving sampled elements of
   * {@code values} through {@code set} and restoring them; returns how many were compared.
   */
  private static int compare(Session session, String where, float[] grad, float[] values,
      java.util.function.Consumer<float[]> set, SplittableRandom rnd, List<Mismatch> bad) {
    int compared = 0;
    for (int e : sample(values.length, rnd)) {
      float saved = values[e];
      values[e] = (float) (saved + STEP);
      set.accept(values);
      session.forward();
      double plus = session.loss();
      values[e] = (float) (saved - STEP);
      set.accept(values);
      session.forward();
      double minus = session.loss();
      values[e] = saved;
      set.accept(values);
      double numeric = (plus - minus) / (2 * STEP);
      compared++;
      if (!close(grad[e], numeric)) bad.add(new Mismatch(where, e, grad[e], numeric));
    }
    return compared;
  }

  static boolean close(double analytic, double numeric) {
    return Math.abs(analytic - numeric) <= ATOL + RTOL * Math.max(Math.abs(analytic), Math.abs(numeric));
  }

  private static int[] sample(int size, SplittableRandom rnd) {
    if (size <= MAX_ELEMENTS) {
      int[] all = new int[size];
      for (int i = 0; i < size; i++) all[i] = i;
      return all;
    }
    int[] some = new int[MAX_ELEMENTS];
    for (int i = 0; i < some.length; i++) some[i] = rnd.nextInt(size);
    return some;
  }
}
