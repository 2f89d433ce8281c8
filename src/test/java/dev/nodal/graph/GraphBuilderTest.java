package dev.nodal.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.ops.Add;
import dev.nodal.ops.Concat;
import dev.nodal.ops.Dense;
import dev.nodal.ops.Layers;
import dev.nodal.ops.MatMul;
import dev.nodal.ops.Relu;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import dev.nodal.tensor.Shape;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Build-time validation: every error names the nodes involved. */
class GraphBuilderTest {

  private static String fails(Runnable r) {
    return assertThrows(GraphException.class, r::run).getMessage();
  }

  @Test
  void denseShapeMismatchNamesNodeInputAndWeight() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 784);
    Node h1 = Layers.dense(g, "fc1", x, 256, Init.he());
    Param w2 = g.param("W2", Init.he(), 300, 10);
    Param b2 = g.param("b2", Init.zeros(), 10);
    assertEquals("dense 'fc2': input 'fc1' has 256 features, W2 expects 300",
        fails(() -> g.apply(new Dense(), "fc2", h1, w2, b2)));
  }

  @Test
  void wrongArityNamesTheRoles() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Param w = g.param("W", Init.he(), 3, 2);
    assertEquals("dense 'fc': expects 3 inputs [x, W, b], got 2 [x, W]", fails(() -> g.apply(new Dense(), "fc", x, w)));
  }

  /**
   * A variadic op (concat) takes as many inputs as it is given, one at least, as PyTorch's
   * {@code cat} takes a list of any length; the output's shape sums them.
   */
  @Test
  void concatTakesAnyNumberOfInputsFromOne() {
    GraphBuilder g = new GraphBuilder(1);
    Input a = g.input("a", 2, 3), b = g.input("b", 4, 3), c = g.input("c", 1, 3);
    assertEquals(Shape.batchOf(2, 3), g.apply(new Concat(), "one", a).shape());
    assertEquals(Shape.batchOf(6, 3), g.apply(new Concat(), "two", a, b).shape());
    Concat shared = new Concat(); // an op is stateless: one instance serves nodes of any arity
    assertEquals(Shape.batchOf(7, 3), g.apply(shared, "three", a, b, c).shape());
    assertEquals(Shape.batchOf(3, 3), g.apply(shared, "again", a, c).shape());
    assertEquals("concat 'none': expects at least 1 input [x] (more repeat 'x'), got 0 []",
        fails(() -> g.apply(new Concat(), "none", new Node[0])));
    assertEquals("concat 'bad': input 'd' [N, 1, 4] does not match 'a' [N, 2, 3] in every dimension but 1",
        fails(() -> g.apply(new Concat(), "bad", a, g.input("d", 1, 4))));
  }

  /** The deprecated fixed form still insists on its count, as graph files of version 1 do. */
  @Test
  @SuppressWarnings("deprecation")
  void concatWithACountInsistsOnIt() {
    GraphBuilder g = new GraphBuilder(1);
    Input a = g.input("a", 2, 3), b = g.input("b", 4, 3);
    assertEquals("concat 'cat': expects 3 inputs [x0, x1, x2], got 2 [a, b]", fails(() -> g.apply(new Concat(3), "cat", a, b)));
    assertEquals(Shape.batchOf(6, 3), g.apply(new Concat(2), "cat", a, b).shape());
  }

  @Test
  void nodeFromAnotherGraphIsRejected() {
    GraphBuilder a = new GraphBuilder(1);
    GraphBuilder b = new GraphBuilder(1);
    Input x = a.input("x", 3);
    String msg = fails(() -> b.apply(new Relu(), "r", x));
    assertTrue(msg.contains("relu 'r': input 'x' belongs to another graph"), msg);
  }

  @Test
  void aNameNotMadeYetIsRefusedAtTheCallSoNoCycleCanBeMade() {
    GraphBuilder g = new GraphBuilder(1);
    g.input("x", 3);
    assertEquals("add 'a': input 'c' is not a node of this graph (a node is made after its inputs); the nodes so far "
        + "are [x]", fails(() -> g.apply(new Add(), "a", "x", "c")));
    assertNull(g.node("a"), "the refused node is not kept");
  }

  @Test
  void shapesOfNodesGivenByNameAreCheckedAtTheCall() {
    GraphBuilder g = new GraphBuilder(1);
    g.input("x", 3);
    g.param("W", Init.he(), 4, 2);
    g.param("b", Init.zeros(), 2);
    assertEquals("dense 'fc': input 'x' has 3 features, W expects 4", fails(() -> g.apply(new Dense(), "fc", "x", "W", "b")));
  }

  @Test
  void unknownInputNameIsRefusedAtTheCallWithTheNamesThatExist() {
    GraphBuilder g = new GraphBuilder(1);
    assertEquals("tanh 't': input 'nope' is not a node of this graph (a node is made after its inputs); no node has "
        + "been made yet", fails(() -> g.apply(new Tanh(), "t", "nope")));
    g.input("x", 3);
    g.param("W", Init.he(), 3, 2);
    assertEquals("tanh 't': input 'X' is not a node of this graph (a node is made after its inputs); the nodes so far "
        + "are [x, W]", fails(() -> g.apply(new Tanh(), "t", "X")));
  }

  @Test
  void unknownInputNameAmongManySuggestsTheNearest() {
    GraphBuilder g = new GraphBuilder(1);
    Node h = g.input("x", 3);
    for (int i = 1; i <= 20; i++) h = g.apply(new Tanh(), "layer" + i, h);
    assertEquals("relu 'r': input 'layr7' is not a node of this graph (a node is made after its inputs); did you mean "
        + "'layer7'?", fails(() -> g.apply(new Relu(), "r", "layr7")));
    assertEquals("relu 'r': input 'softmax' is not a node of this graph (a node is made after its inputs); no node of "
        + "the 21 made so far has a similar name", fails(() -> g.apply(new Relu(), "r", "softmax")));
  }

  /** A node given by name has its shape at once, so it can feed a node given by reference. */
  @Test
  void aNodeGivenByNameFeedsANodeGivenByReference() {
    GraphBuilder g = new GraphBuilder(1);
    g.input("x", 3);
    Apply t = g.apply(new Tanh(), "t", "x");
    assertEquals(Shape.batchOf(3), t.shape());
    Apply r = g.apply(new Relu(), "r", t);
    assertEquals(List.of("x", "t", "r"), g.build().nodes().stream().map(Node::name).toList());
    assertEquals(Shape.batchOf(3), r.shape());
  }

  @Test
  void duplicateName() {
    GraphBuilder g = new GraphBuilder(1);
    g.input("x", 3);
    assertTrue(fails(() -> g.input("x", 4)).contains("the name is already used by input 'x'"));
  }

  @Test
  void lossMustBeScalar() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Node d = Layers.dense(g, "fc", x, 2, Init.he());
    assertEquals("loss 'fc' must be a scalar, has shape [N, 2]", fails(() -> g.build(d)));
  }

  @Test
  void parameterThatNeverReachesTheLossIsAnError() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Input y = g.labels("y", 2);
    Node logits = Layers.dense(g, "fc", x, 2, Init.he());
    Layers.dense(g, "unused", x, 4, Init.he());
    Node loss = g.apply(new SoftmaxCrossEntropy(), "loss", logits, y);
    String msg = fails(() -> g.build(loss));
    assertTrue(msg.startsWith("param 'unused.W', 'unused.b' never reaches the loss 'loss'"), msg);
  }

  @Test
  void labelsMustBeALabelsInputWithMatchingClasses() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Input y = g.labels("y", 5);
    Node logits = Layers.dense(g, "fc", x, 2, Init.he());
    assertEquals("softmax_cross_entropy 'loss': logits 'fc' have 2 classes, labels 'y' declare 5",
        fails(() -> g.apply(new SoftmaxCrossEntropy(), "loss", logits, y)));
  }

  @Test
  void matmulShapeMismatch() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Param w = g.param("W", Init.he(), 4, 2);
    assertEquals("matmul 'mm': 'x' [N, 3] has 3 columns, 'W' [4, 2] has 4 rows", fails(() -> g.apply(new MatMul(), "mm", x, w)));
  }

  @Test
  void builtGraphIsOrderedAndImmutable() {
    GraphBuilder g = new GraphBuilder(1);
    Input x = g.input("x", 3);
    Input y = g.labels("y", 2);
    Node h = g.apply(new Relu(), Layers.dense(g, "fc1", x, 4, Init.he()));
    Node logits = Layers.dense(g, "fc2", h, 2, Init.he());
    Node loss = g.apply(new SoftmaxCrossEntropy(), "loss", logits, y);
    Graph graph = g.build(loss);
    for (Node n : graph.nodes()) {
      for (Node in : n.inputs()) assertTrue(in.id() < n.id(), in + " must come before " + n);
    }
    assertEquals("relu_1", h.name());
    assertEquals(Shape.of(Shape.BATCH, 2), logits.shape());
    assertEquals(4, graph.params().size());
    assertFalse(graph.needsGradient(x), "data never needs a gradient");
    assertFalse(graph.needsGradient(y));
    assertTrue(graph.needsGradient(h));
    assertThrows(UnsupportedOperationException.class, () -> graph.nodes().add(x));
    assertThrows(UnsupportedOperationException.class, () -> h.inputs().add(x));
    assertThrows(IllegalStateException.class, () -> g.input("z", 1));
    assertEquals(List.of(x, y), graph.inputs());
  }

  /** Shapes an op makes larger than any input: past one buffer, or past one axis, the error names the node. */
  @Test
  void anOutputTooLargeForOneBufferNamesTheNode() {
    GraphBuilder g = new GraphBuilder(1);
    Param column = g.param("column", Init.zeros(), 50_000, 1), row = g.param("row", Init.zeros(), 1, 50_000);
    Param batched = g.param("batched", Init.zeros(), 50_000, 1, 1);
    Param half = g.param("half", Init.zeros(), 1_200_000_000), other = g.param("other", Init.zeros(), 1_200_000_000);
    assertTrue(fails(() -> g.apply(new Add(), "outer", column, row)).startsWith("add 'outer': shape [50000, 50000]"));
    assertTrue(fails(() -> g.apply(new MatMul(), "product", batched, row)).startsWith("matmul 'product': shape [50000, 1, 50000]"));
    assertEquals("concat 'cat': joining axis 0 gives 2400000000 positions, more than one axis holds (2147483647)",
        fails(() -> g.apply(Concat.along(0), "cat", half, other)));
  }

  /** Along axis 0 no input may bring the batch, the first or a later one. */
  @Test
  void concatAlongTheBatchAxisIsRefusedForAnyInput() {
    GraphBuilder g = new GraphBuilder(1);
    Param p = g.param("p", Init.zeros(), 2, 3);
    Input x = g.input("x", 3);
    assertTrue(fails(() -> g.apply(Concat.along(0), "cat", p, x))
        .startsWith("concat 'cat': input 'x' [N, 3]: cannot join along the batch axis"));
    assertTrue(fails(() -> g.apply(Concat.along(0), "cat", x, p))
        .startsWith("concat 'cat': input 'x' [N, 3]: cannot join along the batch axis"));
  }
}
