package dev.nodal.testkit;

import dev.nodal.backend.GradientCheck;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Add;
import dev.nodal.ops.Div;
import dev.nodal.ops.Mse;
import dev.nodal.testkit.OpSamples.Sample;
import dev.nodal.ops.Scale;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;

/** Turns the node types' samples ({@link OpSamples}) into what the gradient check and the parity test run. */
public final class CatalogueSamples {
  private CatalogueSamples() {}

  /** Every gradient-check sample of every node type, named for the test report. */
  public static Stream<Named<Sample>> gradientSamples() {
    return OpSamples.all().stream().flatMap(e -> e.gradientSamples().stream()).map(s -> Named.of(s.toString(), s));
  }

  /** Every parity sample of every node type, named for the test report. */
  public static Stream<Named<Sample>> paritySamples() {
    return OpSamples.all().stream().flatMap(e -> e.paritySamples().stream()).map(s -> Named.of(s.toString(), s));
  }

  /**
   * Seeded input tensors; labels are class indices, other inputs of a labelled op are scaled by 3,
   * and a divisor's values are moved 0.5 further from 0.
   */
  public static CpuTensor[] tensors(Sample s) {
    List<int[]> shapes = s.shapes();
    CpuTensor[] in = new CpuTensor[shapes.size()];
    for (int i = 0; i < in.length; i++) {
      if (isLabels(s, i)) {
        in[i] = TestData.labels(2, s.classes(), shapes.get(i));
      } else if (s.isState(i)) {
        in[i] = new CpuTensor(Init.uniform(0.5f, 1.5f).values(Shape.of(shapes.get(i)), 11 + i), Shape.of(shapes.get(i)));
      } else {
        in[i] = TestData.tensor(1 + i, shapes.get(i));
        if (s.classes() > 0) for (int k = 0; k < in[i].size(); k++) in[i].data[k] *= 3f;
        if (isDivisor(s, i)) for (int k = 0; k < in[i].size(); k++) in[i].data[k] += Math.signum(in[i].data[k]) * 0.5f;
        if (s.spread()) spread(in[i].data, 1 + i);
      }
    }
    return in;
  }

  /**
   * Distinct values 4·STEP apart, in a seeded order, centred on 0: no two are within a finite
   * difference of each other.
   */
  private static void spread(float[] v, long seed) {
    java.util.List<Integer> order = new java.util.ArrayList<>();
    for (int i = 0; i < v.length; i++) order.add(i);
    java.util.Collections.shuffle(order, new java.util.Random(seed));
    double gap = 4 * GradientCheck.STEP;
    for (int i = 0; i < v.length; i++) v[order.get(i)] = (float) ((i - v.length / 2.0) * gap);
  }

  /** Which inputs get a gradient: all but labels and states. */
  public static boolean[] differentiable(Sample s) {
    boolean[] d = new boolean[s.shapes().size()];
    for (int i = 0; i < d.length; i++) d[i] = !isLabels(s, i) && !s.isState(i);
    return d;
  }

  /** The op's output shape for the sample's inputs. */
  public static Shape outShape(Sample s) {
    GraphBuilder g = new GraphBuilder(1);
    Node z = g.apply(s.op(), "z", nodes(g, s, null));
    return z.shape().resolve(s.classes() > 0 ? s.batch() : 0);
  }

  /**
   * A graph that applies the op to the sample's inputs, with a loss: inputs are parameters (so
   * every one gets a gradient), except that a labelled op's inputs are data plus a parameter
   * ({@code x + p}, which carries the batch) and its labels are data. A non-scalar output feeds an
   * MSE against a parameter; a scalar one is scaled by 0.7, so the incoming gradient is not 1.
   * The data are put into {@code inputs} by input name.
   */
  public static Graph graph(Sample s, Map<String, float[]> inputs) {
    GraphBuilder g = new GraphBuilder(7);
    Node z = g.apply(s.op(), "z", nodes(g, s, inputs));
    Node target = null;
    if (!z.shape().isScalar() && z.shape().hasBatch()) { // a lookup's output: the target is data
      int[] dims = z.shape().dims();
      target = g.input("target", Arrays.copyOfRange(dims, 1, dims.length));
      if (inputs != null) inputs.put("target", Models.uniform(z.shape().size(s.batch()), 13));
    } else if (!z.shape().isScalar()) {
      target = g.param("target", Init.uniform(-1, 1), z.shape().dims());
    }
    Node loss = target == null ? g.apply(new Scale(0.7f), "loss", z) : g.apply(new Mse(), "loss", z, target);
    return g.build(loss);
  }

  private static Node[] nodes(GraphBuilder g, Sample s, Map<String, float[]> inputs) {
    List<int[]> shapes = s.shapes();
    Node[] args = new Node[shapes.size()];
    for (int i = 0; i < args.length; i++) {
      int[] shape = shapes.get(i);
      if (isLabels(s, i)) {
        args[i] = g.labels("y", s.classes(), Arrays.copyOfRange(shape, 1, shape.length));
        if (inputs != null) inputs.put("y", Models.classes(Shape.of(shape).size(0), s.classes(), 3));
      } else if (s.isState(i)) {
        args[i] = g.state("s" + i, Init.uniform(0.5f, 1.5f), shape);
      } else if (s.classes() > 0 && !s.lookup()) {
        int[] features = Arrays.copyOfRange(shape, 1, shape.length);
        Input x = g.input("x" + i, features);
        Param p = g.param("p" + i, Init.uniform(-3, 3), features);
        args[i] = g.apply(new Add(), "in" + i, x, p);
        if (inputs != null) inputs.put("x" + i, Models.uniform(Shape.of(shape).size(0), 5 + i));
      } else {
        args[i] = g.param("p" + i, isDivisor(s, i) ? Init.uniform(0.5f, 1.5f) : Init.uniform(-1, 1), shape);
      }
    }
    return args;
  }

  /** True for the divisor of a div, whose values keep at least 0.5 away from the pole at 0. */
  private static boolean isDivisor(Sample s, int i) {
    return s.op() instanceof Div && i == 1;
  }

  private static boolean isLabels(Sample s, int i) {
    return s.classes() > 0 && i == s.shapes().size() - 1;
  }
}
