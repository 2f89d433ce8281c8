package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Add;
import dev.nodal.ops.Dense;
import dev.nodal.ops.MatMul;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.graph.Op;
import dev.nodal.ops.Relu;
import dev.nodal.ops.Scale;
import dev.nodal.ops.Sigmoid;
import dev.nodal.ops.Softmax;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every node type, forward and backward, on OpenCL against the CPU backend, at sizes that
 * straddle work-group and tile sizes (1, 31, 32, 33, 63, 64, 65, 257) in every dimension a kernel
 * tiles. Each op's inputs are parameters (so every input gets a gradient), except labels; a
 * non-scalar output feeds an MSE loss, a scalar one is scaled by 0.7 so that the incoming
 * gradient is not 1. Tolerances are {@link Parity}'s, per op family.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpParityTest {
  static final int[] SIZES = {1, 31, 32, 33, 63, 64, 65, 257};
  private Backend device;
  private final Backend cpu = Backends.cpu();

  @BeforeAll
  void open() {
    device = OpenClTests.backend();
  }

  @AfterAll
  void close() {
    if (device != null) device.close();
  }

  /** A graph applying {@code op} to parameters of the given shapes (labels where {@code labels} says). */
  private void check(String label, Op op, int batch, int labelClasses, int[]... shapes) {
    GraphBuilder g = new GraphBuilder(7);
    Map<String, float[]> inputs = new HashMap<>();
    Node[] args = new Node[shapes.length];
    for (int i = 0; i < shapes.length; i++) {
      if (labelClasses > 0 && i == shapes.length - 1) {
        Input y = g.labels("y", labelClasses);
        inputs.put("y", Models.classes(batch, labelClasses, 3));
        args[i] = y;
      } else {
        Param p = g.param("p" + i, Init.uniform(-1, 1), shapes[i]);
        args[i] = p;
      }
    }
    Node z = g.apply(op, "z", args);
    Node loss;
    if (z.shape().isScalar()) {
      loss = g.apply(new Scale(0.7f), "loss", z);
    } else {
      Param target = g.param("target", Init.uniform(-1, 1), z.shape().dims());
      loss = g.apply(new Mse(), "loss", z, target);
    }
    Graph graph = g.build(loss);
    Parity.Report r = Parity.compare(graph, device, cpu, inputs);
    assertTrue(r.ok(), label + "\n" + r.format());
  }

  static Stream<Arguments> matrixShapes() {
    List<Arguments> cases = new ArrayList<>();
    for (int s : SIZES) {
      cases.add(Arguments.of(s, 33, 65));
      cases.add(Arguments.of(31, s, 64));
      cases.add(Arguments.of(63, 257, s));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "dense M={0} K={1} N={2}")
  @MethodSource("matrixShapes")
  void dense(int m, int k, int n) {
    check("dense", new Dense(), 0, 0, new int[] {m, k}, new int[] {k, n}, new int[] {n});
  }

  @ParameterizedTest(name = "matmul M={0} K={1} N={2}")
  @MethodSource("matrixShapes")
  void matmul(int m, int k, int n) {
    check("matmul", new MatMul(), 0, 0, new int[] {m, k}, new int[] {k, n});
  }

  static Stream<Arguments> elementwise() {
    List<Arguments> cases = new ArrayList<>();
    String[] ops = {"relu", "sigmoid", "tanh", "scale", "mul", "add", "add_broadcast"};
    for (String op : ops) for (int s : SIZES) cases.add(Arguments.of(op, s));
    return cases.stream();
  }

  @ParameterizedTest(name = "{0} {1}x3")
  @MethodSource("elementwise")
  void elementwise(String kind, int rows) {
    int[] shape = {rows, 3};
    switch (kind) {
      case "relu" -> check(kind, new Relu(), 0, 0, shape);
      case "sigmoid" -> check(kind, new Sigmoid(), 0, 0, shape);
      case "tanh" -> check(kind, new Tanh(), 0, 0, shape);
      case "scale" -> check(kind, new Scale(-1.5f), 0, 0, shape);
      case "mul" -> check(kind, new Mul(), 0, 0, shape, shape);
      case "add" -> check(kind, new Add(), 0, 0, shape, shape);
      default -> check(kind, new Add(), 0, 0, new int[] {3, rows}, new int[] {rows});
    }
  }

  static Stream<Arguments> rowsAndCols() {
    List<Arguments> cases = new ArrayList<>();
    for (int s : SIZES) {
      cases.add(Arguments.of(s, 10));
      cases.add(Arguments.of(7, s));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "softmax {0}x{1}")
  @MethodSource("rowsAndCols")
  void softmax(int rows, int cols) {
    check("softmax", new Softmax(), 0, 0, new int[] {rows, cols});
  }

  @ParameterizedTest(name = "softmax_cross_entropy N={0} C={1}")
  @MethodSource("rowsAndCols")
  void softmaxCrossEntropy(int rows, int cols) {
    // The labels input has a batch dimension, so the logits do too: an input, fed by a parameter.
    GraphBuilder g = new GraphBuilder(7);
    Param p = g.param("p", Init.uniform(-3, 3), cols);
    Input x = g.input("x", cols);
    Input y = g.labels("y", cols);
    Node logits = g.apply(new Add(), "logits", x, p);
    Node z = g.apply(new SoftmaxCrossEntropy(), "z", logits, y);
    Graph graph = g.build(g.apply(new Scale(0.7f), "loss", z));
    Map<String, float[]> inputs = Map.of("x", Models.uniform(rows * cols, 5), "y", Models.classes(rows, cols, 6));
    Parity.Report r = Parity.compare(graph, device, cpu, inputs);
    assertTrue(r.ok(), r.format());
  }

  @ParameterizedTest(name = "mse {0}x3")
  @MethodSource("sizes")
  void mse(int rows) {
    GraphBuilder g = new GraphBuilder(7);
    Param a = g.param("a", Init.uniform(-1, 1), rows, 3);
    Param b = g.param("b", Init.uniform(-1, 1), rows, 3);
    Graph graph = g.build(g.apply(new Scale(0.7f), "loss", g.apply(new Mse(), "z", a, b)));
    Parity.Report r = Parity.compare(graph, device, cpu, Map.of());
    assertTrue(r.ok(), r.format());
  }

  static Stream<Integer> sizes() {
    return java.util.Arrays.stream(SIZES).boxed();
  }
}
