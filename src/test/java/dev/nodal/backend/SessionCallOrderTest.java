package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Dense;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.ops.Tanh;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.optim.Sgd;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Supplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Sessions reuse memory, so some call sequences cannot be served. Each must either give the
 * right numbers or fail with an {@link IllegalStateException}, the same way on every backend.
 */
class SessionCallOrderTest {
  private static final int WIDTH = 6;


  /** One weight used three times: tanh(tanh(tanh(x·W)·W)·W), MSE against t. */
  static Graph weightUsedThreeTimes() {
    GraphBuilder g = new GraphBuilder(3);
    Input x = g.input("x", WIDTH);
    Input t = g.input("t", WIDTH);
    Param w = g.param("W", Init.xavier(), WIDTH, WIDTH);
    Param b = g.param("b", Init.normal(0, 0.1f), WIDTH);
    Node h = x;
    for (int i = 1; i <= 3; i++) h = g.apply(new Tanh(), "h" + i, g.apply(new Dense(), "use" + i, h, w, b));
    return g.build(g.apply(new Mse(), "loss", h, t));
  }

  /** A fan-out through Mul: h = tanh(x·W + b), out = h ⊙ h, MSE against t. */
  static Graph fanOutThroughMul() {
    GraphBuilder g = new GraphBuilder(4);
    Input x = g.input("x", WIDTH);
    Input t = g.input("t", WIDTH);
    Param w = g.param("W", Init.xavier(), WIDTH, WIDTH);
    Param b = g.param("b", Init.normal(0, 0.1f), WIDTH);
    Node h = g.apply(new Tanh(), "h", g.apply(new Dense(), "fc", x, w, b));
    return g.build(g.apply(new Mse(), "loss", g.apply(new Mul(), "square", h, h), t));
  }

  private static void setInputs(Session s, Graph g, int n, long seed) {
    s.setInput((Input) g.node("x"), Models.uniform(n * WIDTH, seed));
    s.setInput((Input) g.node("t"), Models.uniform(n * WIDTH, seed + 1));
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void aSecondBackwardIsRefusedAndAFreshOneIsRight(String backendName) {
    for (Supplier<Graph> make : List.<Supplier<Graph>>of(SessionCallOrderTest::weightUsedThreeTimes,
        SessionCallOrderTest::fanOutThroughMul)) {
      Graph g = make.get();
      try (Backend b = OpenClTests.named(backendName); Session s = b.compile(g, 8); Session reference = Backends.cpu().compile(g, 8)) {
        setInputs(s, g, 8, 1);
        s.forward();
        s.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, s::backward);
        assertEquals("backward() needs a forward() first: the last backward() reused the memory of its values; "
            + "call forward() again", e.getMessage());
        s.forward();
        s.backward();
        setInputs(reference, g, 8, 1);
        reference.forward();
        reference.backward();
        for (Param p : g.params()) assertClose(reference.gradient(p), s.gradient(p), p.name());
      }
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void eachRefusalSaysWhatToCallFirst(String backendName) {
    Graph g = fanOutThroughMul();
    try (Backend b = OpenClTests.named(backendName); Session s = b.compile(g, 8)) {
      s.setOptimizer(new Sgd(0.1f));
      assertRefused("backward() needs a forward() first: no forward() has run", s::backward);
      assertRefused("loss() needs a forward() first", s::loss);
      assertRefused("update() needs a backward() first: no backward() has run", s::update);
      assertRefused("gradient(param 'W') needs a backward() first", () -> s.gradient(g.node("W")));
      assertRefused("value(input 'x') needs setInput first", () -> s.value(g.node("x")));
      setInputs(s, g, 8, 1);
      s.forward();
      setInputs(s, g, 8, 2);
      assertRefused("backward() needs a forward() first: setInput(\"x\") was called after it", s::backward);
      s.forward();
      s.setParam((Param) g.node("b"), new float[WIDTH]);
      assertRefused("backward() needs a forward() first: setParam(\"b\") was called after it", s::backward);
      s.forward();
      s.backward();
      s.update();
      assertRefused("update() needs a backward() first: the gradients of the last backward() were applied already",
          s::update);
      float[] badTargets = Models.uniform(8 * WIDTH, 3);
      badTargets[5] = Float.NaN;
      assertThrows(GraphException.class, () -> s.setInput((Input) g.node("t"), badTargets));
      GraphException stale = assertThrows(GraphException.class, s::forward, "the refused input's old batch is not used");
      assertEquals("input 't' has not been set", stale.getMessage());
    }
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void closedSessionsAndBackendsRefuseEverythingButClose(String backendName) {
    Graph g = Models.mlp(1, 3, 4, 2);
    Backend b = OpenClTests.named(backendName);
    Session s = b.compile(g, 4);
    Session other = b.compile(g, 4);
    s.close();
    s.close();
    assertRefused("this session is closed", s::forward);
    assertRefused("this session is closed", () -> s.setInput((Input) g.node("x"), new float[3]));
    assertRefused("this session is closed", () -> s.value(g.node("fc1.W")));
    assertRefused("this session is closed", s::sync);
    b.close();
    b.close();
    assertRefused("this session is closed", other::forward); // closing a backend closes its sessions
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> b.compile(g, 4));
    assertTrue(e.getMessage().endsWith(" is closed"), e.getMessage());
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl"})
  void nullAndNonFiniteArgumentsAreRefusedWithTheirNames(String backendName) {
    Graph g = Models.mlp(1, 3, 4, 2);
    try (Backend b = OpenClTests.named(backendName); Session s = b.compile(g, 4)) {
      assertEquals("input is null", assertThrows(IllegalArgumentException.class, () -> s.setInput(null, new float[3])).getMessage());
      assertEquals("data is null", assertThrows(IllegalArgumentException.class, () -> s.setInput((Input) g.node("x"), null)).getMessage());
      assertEquals("node is null", assertThrows(IllegalArgumentException.class, () -> s.value(null)).getMessage());
      assertEquals("optimizer is null", assertThrows(IllegalArgumentException.class, () -> s.setOptimizer(null)).getMessage());
      float[] w = new float[2];
      w[1] = Float.NaN;
      GraphException e = assertThrows(GraphException.class, () -> s.setParam((Param) g.node("fc2.b"), w));
      assertEquals("param 'fc2.b': value NaN at element 1 is not finite", e.getMessage());
      assertEquals("graph is null", assertThrows(IllegalArgumentException.class, () -> b.compile(null, 4)).getMessage());
    }
  }

  /**
   * Random call sequences, run in lockstep on the CPU (which never reuses memory) and on OpenCL:
   * every call must give the same numbers on both, or the same refusal.
   */
  @Test
  void randomCallSequencesAgreeWithTheCpuOrAreRefusedAlike() {
    Graph g = weightUsedThreeTimes();
    List<Node> readable = List.of(g.node("x"), g.node("W"), g.node("b"), g.node("h2"), g.node("loss"), g.node("h3"));
    CompileOptions options = CompileOptions.maxBatch(8).keep("h2");
    int sequences = 200, calls = 0, refusals = 0, compared = 0;
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu()) {
      SplittableRandom r = new SplittableRandom(11);
      for (int seq = 0; seq < sequences; seq++) {
        try (Session d = device.compile(g, options); Session c = cpu.compile(g, options)) {
          for (Session s : new Session[] {d, c}) s.setOptimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).build());
          setInputs(d, g, 8, seq);
          setInputs(c, g, 8, seq);
          List<String> trail = new ArrayList<>();
          for (int step = 0; step < 14; step++) {
            int op = r.nextInt(9);
            int n = 1 + r.nextInt(8);
            long seed = r.nextLong();
            Node node = readable.get(r.nextInt(readable.size()));
            trail.add(op + ":" + n + ":" + node.name());
            Object a = call(d, g, op, n, seed, node), b = call(c, g, op, n, seed, node);
            calls++;
            if (a instanceof String || b instanceof String) {
              assertEquals(b, a, "call " + step + " of " + trail);
              refusals++;
            } else if (a instanceof float[] fa) {
              assertClose((float[]) b, fa, "call " + step + " of " + trail);
              compared++;
            }
          }
        }
      }
    }
    System.out.printf("%d call sequences, %d calls: %d refused alike, %d reads equal on both backends, 0 differ%n",
        sequences, calls, refusals, compared);
    assertTrue(refusals > 100 && compared > 300, "the sequences should exercise both outcomes");
  }

  /** Runs one call; returns a read's values, the message of a refusal, or null. */
  private static Object call(Session s, Graph g, int op, int n, long seed, Node node) {
    try {
      switch (op) {
        case 0 -> setInputs(s, g, n, seed);
        case 1 -> s.forward();
        case 2 -> s.backward();
        case 3 -> s.update();
        case 4 -> s.setParam((Param) g.node("b"), Models.uniform(WIDTH, seed));
        case 5 -> { return new float[] {s.loss()}; }
        case 6 -> { return s.value(node); }
        case 7 -> { return g.needsGradient(node) && !(node instanceof Input) ? s.gradient(node) : null; }
        case 8 -> { return s.gradient(g.node("W")); }
        default -> fail("no call " + op);
      }
      return null;
    } catch (IllegalStateException | GraphException e) {
      return e.getClass().getSimpleName() + ": " + e.getMessage();
    }
  }

  private static void assertRefused(String message, Runnable call) {
    assertEquals(message, assertThrows(IllegalStateException.class, call::run).getMessage());
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > 1e-4 + 1e-3 * Math.abs(expected[i])) {
        assertArrayEquals(expected, actual, what + ": element " + i);
      }
    }
  }
}
