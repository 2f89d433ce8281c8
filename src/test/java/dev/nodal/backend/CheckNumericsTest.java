package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Pass;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.ShapeContext;
import dev.nodal.ops.Add;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.ops.Relu;
import dev.nodal.ops.Scale;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.optim.Sgd;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** {@link CompileOptions#checkNumerics}: the first node that produces NaN or infinity is named, with its phase. */
class CheckNumericsTest {
  private static final int WIDTH = 5;


  /**
   * A random chain of elementwise ops over x, with two scalings by 1e30 of values in [1, 3] at a
   * random place: the second overflows to infinity, and what follows turns it into NaN or keeps it
   * infinite. Returns the graph; the overflow is 'poison'.
   */
  static Graph poisoned(long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    GraphBuilder g = new GraphBuilder(seed);
    Node h = g.input("x", WIDTH);
    int length = 2 + r.nextInt(8), at = r.nextInt(length);
    for (int i = 0; i < length; i++) {
      if (i == at) {
        // tanh(h) + 2 lies in [1, 3], so boost is finite and poison overflows in every element.
        Node lifted = g.apply(new Add(), "lift", g.apply(new Tanh(), "squash", h), g.param("two", Init.constant(2f), WIDTH));
        h = g.apply(new Scale(1e30f), "poison", g.apply(new Scale(1e30f), "boost", lifted));
      }
      h = switch (r.nextInt(4)) {
        case 0 -> g.apply(new Relu(), "n" + i, h);
        case 1 -> g.apply(new Add(), "n" + i, h, g.param("b" + i, Init.uniform(-1, 1), WIDTH));
        case 2 -> g.apply(new Mul(), "n" + i, h, h);
        default -> g.apply(new Scale(-0.5f), "n" + i, h);
      };
    }
    return g.build(g.apply(new Mse(), "loss", h, g.input("t", WIDTH)));
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void theProducerOfAnInjectedOverflowIsNamedEveryTime(String backendName) {
    int graphs = backendName.equals("cpu") ? 100 : 30, named = 0;
    try (Backend b = OpenClTests.named(backendName)) {
      for (int i = 0; i < graphs; i++) {
        Graph g = poisoned(i);
        try (Session s = b.compile(g, CompileOptions.maxBatch(3).checkNumerics(true))) {
          s.setInput((Input) g.node("x"), Models.uniform(3 * WIDTH, i));
          s.setInput((Input) g.node("t"), Models.uniform(3 * WIDTH, i + 1));
          NonFiniteException e = assertThrows(NonFiniteException.class, s::forward, "graph " + i);
          assertEquals("forward", e.phase());
          assertEquals("poison", e.node(), e.getMessage());
          assertTrue(e.getMessage().startsWith("forward: scale 'poison' produced "), e.getMessage());
          named++;
        }
      }
    }
    System.out.printf("%d graphs with an overflow injected at a random node on %s: the right node named %d times%n",
        graphs, backendName, named);
    assertEquals(graphs, named);
  }

  /** Identity forward; its backward writes NaN: a gradient fault, for the CPU. */
  static final class NanGradient implements Op {
    @Override
    public String kind() {
      return "nan_gradient";
    }

    @Override
    public List<String> inputRoles() {
      return List.of("x");
    }

    @Override
    public Shape inferShape(ShapeContext c) {
      return c.in(0);
    }

    @Override
    public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
      System.arraycopy(in[0].data, 0, out.data, 0, out.size());
    }

    @Override
    public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
      dIn[0].data[1] += Float.NaN;
    }

    @Override
    public void forwardKernels(Launcher k) {
      throw new UnsupportedOperationException("CPU only");
    }

    @Override
    public void backwardKernels(Launcher k) {
      throw new UnsupportedOperationException("CPU only");
    }
  }

  @Test
  void aNonFiniteGradientNamesTheNodeAndItsWriter() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", WIDTH);
    Node h = g.apply(new Tanh(), "h", g.apply(new Add(), "shift", x, g.param("b", Init.zeros(), WIDTH)));
    Node broken = g.apply(new NanGradient(), "broken", h);
    Graph graph = g.build(g.apply(new Mse(), "loss", broken, g.input("t", WIDTH)));
    try (Session s = Backends.cpu().compile(graph, CompileOptions.maxBatch(2).checkNumerics(true))) {
      s.setInput(x, Models.uniform(2 * WIDTH, 1));
      s.setInput((Input) graph.node("t"), Models.uniform(2 * WIDTH, 2));
      s.forward();
      NonFiniteException e = assertThrows(NonFiniteException.class, s::backward);
      assertEquals("backward", e.phase());
      assertEquals("h", e.node());
      assertTrue(e.getMessage().contains("written by the backward of [nan_gradient 'broken']"), e.getMessage());
    }
  }

  @Test
  void anUpdateThatOverflowsNamesTheParameter() {
    Graph g = Models.mlp(1, 3, 4, 2);
    try (Session s = Backends.cpu().compile(g, CompileOptions.maxBatch(2).checkNumerics(true))) {
      s.setOptimizer(Sgd.builder().learningRate(3e38f).build());
      s.setInput((Input) g.node("x"), new float[] {1, 2, 3, 4, 5, 6});
      s.setInput((Input) g.node("y"), new float[] {0, 1});
      s.forward();
      s.backward();
      NonFiniteException e = assertThrows(NonFiniteException.class, s::update);
      assertEquals("update", e.phase());
      assertTrue(e.getMessage().contains("made param '"), e.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void crossEntropyOfHugeLogitsStaysFinite(String backendName) {
    GraphBuilder g = new GraphBuilder(1);
    Input logits = g.input("logits", 4);
    Node scaled = g.apply(new Add(), "shifted", logits, g.param("zero", Init.zeros(), 4));
    Input y = g.labels("y", 4);
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", scaled, y));
    try (Backend b = OpenClTests.named(backendName); Session s = b.compile(graph, CompileOptions.maxBatch(2).checkNumerics(true))) {
      s.setInput(logits, new float[] {1e4f, -1e4f, 0, 5, -1e4f, 1e4f, 1e4f, -3});
      s.setInput(y, new float[] {1, 2});
      s.forward();
      s.backward();
      assertTrue(Float.isFinite(s.loss()) && s.loss() > 1e4f - 1, "loss " + s.loss());
      for (float v : s.gradient(graph.node("zero"))) assertTrue(Float.isFinite(v));
    }
  }
}
