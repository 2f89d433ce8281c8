package dev.nodal.testkit;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.ops.Layers;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Add;
import dev.nodal.ops.Dense;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Relu;
import dev.nodal.ops.Scale;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import java.util.SplittableRandom;

/** Small graphs and data sets that several tests share. */
public final class Models {
  private Models() {}

  /** in → dense(hidden) → relu → dense(classes) → softmax cross-entropy, inputs "x" and "y". */
  public static Graph mlp(long seed, int in, int hidden, int classes) {
    GraphBuilder g = new GraphBuilder(seed);
    Input x = g.input("x", in);
    Input y = g.labels("y", classes);
    Node h = g.apply(new Relu(), "h", Layers.dense(g, "fc1", x, hidden, Init.he()));
    Node logits = Layers.dense(g, "fc2", h, classes, Init.xavier());
    return g.build(g.apply(new SoftmaxCrossEntropy(), "loss", logits, y));
  }

  /**
   * One weight W (A×A) used by two dense nodes in a row, {@code tanh(tanh(x·W + b1)·W + b2)},
   * trained with MSE against "t": W's gradient is the sum of both uses.
   */
  public static Graph sharedWeight(long seed, int width) {
    GraphBuilder g = new GraphBuilder(seed);
    Input x = g.input("x", width);
    Input t = g.input("t", width);
    Param w = g.param("W", Init.xavier(), width, width);
    Param b1 = g.param("b1", Init.normal(0, 0.1f), width);
    Param b2 = g.param("b2", Init.normal(0, 0.1f), width);
    Node h = g.apply(new Tanh(), "h1", g.apply(new Dense(), "use1", x, w, b1));
    Node o = g.apply(new Tanh(), "h2", g.apply(new Dense(), "use2", h, w, b2));
    return g.build(g.apply(new Mse(), "loss", o, t));
  }

  /** {@code 0.3·CE(logits, y) + 2·MSE(tanh(logits), t)}: two losses mid-graph, scaled and summed. */
  public static Graph twoLosses(long seed, int in, int classes) {
    GraphBuilder g = new GraphBuilder(seed);
    Input x = g.input("x", in);
    Input y = g.labels("y", classes);
    Input t = g.input("t", classes);
    Node logits = Layers.dense(g, "fc", x, classes, Init.xavier());
    Node ce = g.apply(new SoftmaxCrossEntropy(), "ce", logits, y);
    Node mse = g.apply(new Mse(), "mse", g.apply(new Tanh(), "squash", logits), t);
    Node sum = g.apply(new Add(), "total", g.apply(new Scale(0.3f), "ce_w", ce), g.apply(new Scale(2f), "mse_w", mse));
    return g.build(sum);
  }

  /** Uniform values in [-1, 1). */
  public static float[] uniform(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) (r.nextDouble() * 2 - 1);
    return v;
  }

  public static float[] classes(int n, int classes, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = r.nextInt(classes);
    return v;
  }

  /** A two-armed spiral: points (x, y) in features, arm index in labels. Not linearly separable. */
  public record Spiral(float[] features, float[] labels, int size) {
    public static Spiral make(int perArm, long seed) {
      SplittableRandom r = new SplittableRandom(seed);
      int n = 2 * perArm;
      float[] f = new float[2 * n];
      float[] l = new float[n];
      for (int arm = 0; arm < 2; arm++) {
        for (int i = 0; i < perArm; i++) {
          int k = arm * perArm + i;
          double t = 0.25 + 2.75 * i / perArm; // radius and angle grow together
          double angle = 1.25 * t * Math.PI + arm * Math.PI;
          f[2 * k] = (float) (t * Math.cos(angle) + 0.02 * r.nextGaussian());
          f[2 * k + 1] = (float) (t * Math.sin(angle) + 0.02 * r.nextGaussian());
          l[k] = arm;
        }
      }
      return new Spiral(f, l, n);
    }
  }
}
