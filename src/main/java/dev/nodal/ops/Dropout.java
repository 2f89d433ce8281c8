package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Inverted dropout: in training mode {@code z = x·m/(1 − p)} with a mask {@code m} that keeps each
 * element with probability {@code 1 − p}; in evaluation mode {@code z = x}. Backward:
 * {@code dx = dz·m/(1 − p)}.
 *
 * <p>The mask is not stored: element i is kept when {@code hash(seed, step, i)} maps to a uniform
 * at or above p, where step is the optimizer's step count ({@link Pass#step}). The same seed and
 * step give the same mask on every backend and in a resumed run, a new step gives a new mask, and
 * backward recomputes the forward's mask. Give each dropout node its own seed.
 */
public final class Dropout implements Op {
  private static final Kernel FORWARD = Kernel.of("dropout", "dropout_forward").ints("n").floats("p")
      .ints("seed", "step").buffers("x", "z");
  private static final Kernel BACKWARD = Kernel.of("dropout", "dropout_backward").ints("n").floats("p")
      .ints("seed", "step").buffers("dz", "dx").ints("acc");

  private final float p;
  private final int seed;

  public Dropout(float p, int seed) {
    if (!(p >= 0 && p < 1)) throw new IllegalArgumentException("dropout: need 0 <= p < 1, got " + p);
    this.p = p;
    this.seed = seed;
  }

  /** The graph file's attributes of a dropout node. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.number("p", null, 0, true, 1, false),
      AttributeSchema.integer("seed", 0, Integer.MIN_VALUE, Integer.MAX_VALUE));

  static Dropout fromAttributes(AttributeSchema.Values a) {
    return new Dropout((float) a.number("p"), a.integer("seed"));
  }

  @Override
  public String kind() {
    return "dropout";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("x");
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("p", p);
    a.put("seed", seed);
    return a;
  }

  @Override
  public boolean dependsOnMode() {
    return true;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    return c.in(0);
  }

  private static int mix(int h) {
    h ^= h >>> 16;
    h *= 0x85ebca6b;
    h ^= h >>> 13;
    h *= 0xc2b2ae35;
    h ^= h >>> 16;
    return h;
  }

  /** The factor of element i: 1/(1 − p) when kept, else 0 (the same arithmetic as common.h's dropout_scale). */
  static float scale(float p, int seed, int step, int i) {
    if (p == 0) return 1f; // every u in [0, 1) is kept: no hash needed
    int h = mix(i * 0x9e3779b9 ^ mix(step ^ mix(seed)));
    float u = (h >>> 8) * (1.0f / 16777216.0f);
    return u >= p ? 1.0f / (1.0f - p) : 0.0f;
  }

  private float rate(boolean training) {
    return training ? p : 0f;
  }

  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    float rate = rate(pass.training());
    int step = (int) pass.step();
    float[] x = in[0].data, z = out.data;
    for (int i = 0, n = out.size(); i < n; i++) z[i] = x[i] * scale(rate, seed, step, i);
  }

  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    int step = (int) pass.step();
    float[] dz = dOut.data, dx = dIn[0].data;
    for (int i = 0, n = out.size(); i < n; i++) dx[i] += dz[i] * scale(p, seed, step, i);
  }

  @Override
  public void forwardKernels(Launcher l) {
    int n = l.outShape().size(0);
    l.launch(FORWARD, over(n), n, rate(l.training()), seed, l.step(), l.in(0), l.out());
  }

  @Override
  public void backwardKernels(Launcher l) {
    int n = l.outShape().size(0);
    l.launch(BACKWARD, over(n), n, p, seed, l.step(), l.dOut(), l.dIn(0), l.accumulate(0));
  }
}
