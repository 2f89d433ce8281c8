package dev.nodal.ops;

import static dev.nodal.testkit.TorchFixtures.assertClose;
import static dev.nodal.testkit.TorchFixtures.floats;
import static dev.nodal.testkit.TorchFixtures.ints;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.testkit.TorchFixtures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Sum, Mean, Slice, {@link Layers#split} and Concat along several axes against PyTorch's
 * {@code sum}, {@code mean}, slicing, {@code split}/{@code chunk} and {@code cat}
 * ({@code fixtures/torch-reduce-slice.json}) on both backends: the outputs, and each input's
 * gradient under given upstream gradients (each output's loss {@code MSE(z, z − dy·n/2)}, whose
 * gradient with respect to z is dy, the losses added). A case marked {@code batch} feeds its first
 * axis as the batch of inputs that ask for their gradients; the others use parameters.
 */
class TorchReduceSliceTest {

  static Stream<Arguments> cases() {
    return TorchFixtures.onBothBackends(TorchFixtures.load("torch-reduce-slice.json").get("cases"));
  }

  @ParameterizedTest(name = "{1} on {0}")
  @MethodSource("cases")
  void matchesPyTorch(String backendName, JsonNode c) {
    boolean batch = c.get("batch").asBoolean();
    GraphBuilder g = new GraphBuilder(1);
    List<Node> xs = new ArrayList<>();
    for (int i = 0; i < c.get("inputs").size(); i++) xs.add(source(g, "x" + i, ints(c.get("inputs").get(i).get("shape")), batch));
    List<? extends Node> zs = apply(g, c, xs.toArray(Node[]::new));
    JsonNode outputs = c.get("outputs");
    assertEquals(outputs.size(), zs.size(), "outputs");
    List<Node> targets = new ArrayList<>();
    Node loss = null;
    for (int k = 0; k < zs.size(); k++) {
      int[] shape = ints(outputs.get(k).get("shape"));
      assertEquals(Shape.of(batch ? asBatch(shape) : shape), zs.get(k).shape(), "shape of output " + k);
      targets.add(source(g, "t" + k, shape, batch));
      Node l = g.apply(new Mse(), "loss" + k, zs.get(k), targets.get(k));
      loss = loss == null ? l : g.apply(new Add(), "losses" + k, loss, l);
    }
    int maxBatch = batch ? ints(c.get("inputs").get(0).get("shape"))[0] : 1;
    try (Backend backend = OpenClTests.named(backendName);
        Session s = backend.compile(g.build(loss), CompileOptions.maxBatch(maxBatch).keepAll())) {
      for (int i = 0; i < xs.size(); i++) set(s, xs.get(i), floats(c.get("inputs").get(i).get("x")));
      for (int k = 0; k < zs.size(); k++) {
        JsonNode o = outputs.get(k);
        set(s, targets.get(k), TorchFixtures.mseTargetFor(floats(o.get("z")), floats(o.get("dy"))));
      }
      s.forward();
      s.backward();
      for (int k = 0; k < zs.size(); k++) assertClose(floats(outputs.get(k).get("z")), s.value(zs.get(k)), "z" + k);
      for (int i = 0; i < xs.size(); i++) assertClose(floats(c.get("inputs").get(i).get("dx")), s.gradient(xs.get(i)), "dx" + i);
    }
  }

  /** The case's op applied to {@code xs}: its output nodes, several for a split. */
  private static List<? extends Node> apply(GraphBuilder g, JsonNode c, Node... xs) {
    String op = c.get("op").asText();
    return switch (op) {
      case "sum" -> List.of(g.apply(new Sum(c.get("keep_dims").asBoolean(), ints(c.get("axes"))), "z", xs));
      case "mean" -> List.of(g.apply(new Mean(c.get("keep_dims").asBoolean(), ints(c.get("axes"))), "z", xs));
      case "slice" -> {
        int axis = c.get("axis").asInt(), start = c.get("start").asInt();
        JsonNode end = c.get("end");
        yield List.of(g.apply(end.isNull() ? Slice.from(axis, start) : new Slice(axis, start, end.asInt()), "z", xs));
      }
      case "split" -> c.has("parts") ? Layers.split(g, "z", xs[0], c.get("axis").asInt(), c.get("parts").asInt())
          : Layers.split(g, "z", xs[0], c.get("axis").asInt(), ints(c.get("sizes")));
      case "concat" -> List.of(g.apply(Concat.along(c.get("axis").asInt()), "z", xs));
      default -> throw new IllegalArgumentException("unknown op in fixture: " + op);
    };
  }

  /** A parameter of {@code shape}, or with {@code batch} an input of its examples that asks for its gradient. */
  private static Node source(GraphBuilder g, String name, int[] shape, boolean batch) {
    return batch ? g.input(name, Arrays.copyOfRange(shape, 1, shape.length)).requiresGrad() : g.param(name, Init.zeros(), shape);
  }

  private static void set(Session s, Node n, float[] values) {
    if (n instanceof Input in) s.setInput(in, values);
    else s.setParam((Param) n, values);
  }

  private static int[] asBatch(int[] shape) {
    int[] d = shape.clone();
    d[0] = Shape.BATCH;
    return d;
  }

  /** The batch axis cannot be reduced, sliced or split, and a split must cover its axis: each error says why. */
  @Test
  void refusesTheBatchAxisAndSplitsThatDoNotFit() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3, 6);
    GraphException e = assertThrows(GraphException.class, () -> g.apply(new Sum(0, 2), "s", x));
    assertTrue(e.getMessage().contains("axis 0 of input 'x' [N, 3, 6] is the batch, which sum cannot reduce"), e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Mean(true, -3), "m", x));
    assertTrue(e.getMessage().contains("is the batch, which mean cannot reduce"), e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Slice(0, 0, 1), "sl", x));
    assertTrue(e.getMessage().contains("the batch axis cannot be sliced"), e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Sum(3), "s3", x));
    assertTrue(e.getMessage().contains("axis 3 is out of range for input 'x' [N, 3, 6] of rank 3 (allowed: -3 to 2)"),
        e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Sum(1, -2), "twice", x));
    assertTrue(e.getMessage().contains("name axis 1 twice"), e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(new Slice(-1, 4, 2), "empty", x));
    assertTrue(e.getMessage().contains("[4:2] of axis 2 of input 'x' [N, 3, 6] is empty"), e.getMessage());
    e = assertThrows(GraphException.class, () -> Layers.split(g, "qkv", x, -1, 4));
    assertTrue(e.getMessage().contains("4 equal parts do not divide axis -1"), e.getMessage());
    e = assertThrows(GraphException.class, () -> Layers.split(g, "parts", x, 2, new int[] {2, 3}));
    assertTrue(e.getMessage().contains("sizes [2, 3] add up to 5, not to the 6 of axis 2"), e.getMessage());
    e = assertThrows(GraphException.class, () -> Layers.split(g, "rows", x, 0, 1));
    assertTrue(e.getMessage().contains("is the batch, which cannot be split"), e.getMessage());
    e = assertThrows(GraphException.class, () -> g.apply(Concat.along(0), "cat", x, x));
    assertTrue(e.getMessage().contains("cannot join along the batch axis"), e.getMessage());
    IllegalArgumentException none = assertThrows(IllegalArgumentException.class, () -> new Sum());
    assertTrue(none.getMessage().startsWith("sum: name at least one axis"), none.getMessage());
  }
}
