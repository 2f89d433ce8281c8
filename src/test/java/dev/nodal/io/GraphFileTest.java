package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.Param;
import dev.nodal.ops.Concat;
import dev.nodal.ops.Layers;
import dev.nodal.ops.OpCatalogue;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.optim.Optimizer;
import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Map;
import dev.nodal.testkit.Models;
import org.junit.jupiter.api.Test;

class GraphFileTest {

  @Test
  void roundTripKeepsEveryNodeShapeAndInitialValue() {
    Graph g = Models.twoLosses(5, 7, 3);
    String json = GraphFile.write(g, 5);
    Graph back = GraphFile.read(json, "g.json");
    assertEquals(g.size(), back.size());
    for (Node n : g.nodes()) {
      Node m = back.node(n.name());
      assertEquals(n.kind(), m.kind());
      assertEquals(n.shape(), m.shape());
      assertEquals(n.inputs().stream().map(Node::name).toList(), m.inputs().stream().map(Node::name).toList());
      if (n instanceof Param p) assertArrayEquals(p.initialValues(), ((Param) m).initialValues());
    }
    assertEquals("total", back.loss().name());
    assertEquals(json, GraphFile.write(back, 5));
  }

  @Test
  void everyCatalogueSampleOpRoundTripsThroughItsAttributes() {
    for (dev.nodal.testkit.OpSamples.Samples e : dev.nodal.testkit.OpSamples.all()) {
      for (dev.nodal.testkit.OpSamples.Sample s : e.gradientSamples()) {
        Op op = s.op();
        Op back = OpCatalogue.create(op.kind(), op.attributes());
        assertEquals(op.getClass(), back.getClass());
        assertEquals(op.attributes(), back.attributes());
      }
    }
  }

  @Test
  void errorsNameTheFileAndNode() {
    String json = GraphFile.write(Models.mlp(1, 3, 4, 2), 1).replace("\"relu\"", "\"swiss\"");
    GraphException e = assertThrows(GraphException.class, () -> GraphFile.read(json, "g.json"));
    assertTrue(e.getMessage().startsWith("g.json: node 'h': unknown node type 'swiss'; known: [dense, "), e.getMessage());
  }

  /** A file of a version newer than this Nodal's, or older than any, is refused, naming the versions it reads. */
  @Test
  void otherVersionsAreRefusedNamingTheVersionsRead() {
    String json = GraphFile.write(Models.mlp(1, 3, 4, 2), 1);
    assertTrue(json.contains("\"version\" : 2,"), json);
    assertEquals("g.json: graph file version 3 is not supported: this Nodal reads versions 1 to 2; the file was written "
        + "by a newer Nodal", assertThrows(GraphException.class,
            () -> GraphFile.read(json.replace("\"version\" : 2,", "\"version\" : 3,"), "g.json")).getMessage());
    assertEquals("g.json: graph file version 0 is not supported: this Nodal reads versions 1 to 2",
        assertThrows(GraphException.class,
            () -> GraphFile.read(json.replace("\"version\" : 2,", "\"version\" : 0,"), "g.json")).getMessage());
  }

  /**
   * A file written by version 1 (committed as written then: a concat that names its count of 3)
   * reads as it did, and is written back as version 2 with nothing else changed.
   */
  @Test
  void aVersion1FileReadsAsBefore() throws Exception {
    String v1 = resource("/graphs/version-1.json");
    assertTrue(v1.contains("\"version\" : 1,"));
    Graph g = GraphFile.read(v1, "version-1.json");
    Apply cat = (Apply) g.node("cat");
    assertEquals(Map.of("inputs", 3), cat.op().attributes());
    assertEquals(List.of("act", "extra", "x"), cat.inputs().stream().map(Node::name).toList());
    assertEquals(Shape.batchOf(6, 6, 6), cat.shape());
    assertTrue(g.inputs().stream().noneMatch(Input::isGradRequested));
    dev.nodal.optim.OptimizerSpec sgd = GraphFile.readOptimizer(v1, "version-1.json");
    assertEquals(v1.strip().replace("\"version\" : 1,", "\"version\" : 2,"), GraphFile.write(g, 11, sgd));
    // Read by version 1's rules: a count that disagrees with the inputs, and version 2's key, are refused as before.
    assertEquals("concat 'cat': expects 4 inputs [x0, x1, x2, x3], got 3 [act, extra, x]",
        assertThrows(GraphException.class, () -> GraphFile.read(v1.replace("\"inputs\" : 3", "\"inputs\" : 4"),
            "version-1.json")).getMessage());
    String asked = v1.replaceFirst("\"shape\" : \\[ -1, 2, 6, 6 \\]", "\"shape\" : [ -1, 2, 6, 6 ], \"requires_grad\" : true");
    assertEquals("version-1.json: node 'x': unknown key 'requires_grad'; known: [kind, name, shape]",
        assertThrows(GraphException.class, () -> GraphFile.read(asked, "version-1.json")).getMessage());
    assertTrue(GraphFile.read(asked.replace("\"version\" : 1,", "\"version\" : 2,"), "v2.json").inputs().get(0)
        .isGradRequested(), "version 2 reads the flag");
  }

  /** Version 2 holds an input's request for its gradient, and a concat without its count. */
  @Test
  void theRequestForAnInputsGradientAndAnUncountedConcatRoundTrip() {
    GraphBuilder b = new GraphBuilder(3);
    Input x = b.input("x", 2).requiresGrad();
    Input other = b.input("other", 3);
    Input y = b.labels("y", 2);
    Node cat = b.apply(new Concat(), "cat", x, other);
    Graph g = b.build(b.apply(new SoftmaxCrossEntropy(), "loss", Layers.dense(b, "fc", cat, 2, Init.xavier()), y));
    String json = GraphFile.write(g, 3);
    assertTrue(json.contains("\"requires_grad\" : true"), json);
    assertEquals(1, json.split("requires_grad", -1).length - 1, "only the input that asks carries the flag");
    Graph back = GraphFile.read(json, "g.json");
    assertTrue(((Input) back.node("x")).isGradRequested());
    assertTrue(back.needsGradient(back.node("x")));
    assertTrue(!((Input) back.node("other")).isGradRequested() && !back.needsGradient(back.node("other")));
    assertTrue(((Apply) back.node("cat")).op().isVariadic());
    assertEquals(Map.of(), ((Apply) back.node("cat")).op().attributes());
    assertEquals(json, GraphFile.write(back, 3));
    assertEquals("g.json: node 'x': 'requires_grad': text \"yes\" where true or false belongs",
        assertThrows(GraphException.class, () -> GraphFile.read(json.replace("\"requires_grad\" : true",
            "\"requires_grad\" : \"yes\""), "g.json")).getMessage());
  }

  private static String resource(String name) throws java.io.IOException {
    try (var in = GraphFileTest.class.getResourceAsStream(name)) {
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    }
  }

  /**
   * A graph file read as a schema: Jackson's asInt() wrapped 4294967300 to 4 and truncated 4.5 to
   * 4, and a misspelt attribute dropped the fused ReLU in silence. Each is refused, naming the
   * file, the node and the key.
   */
  @Test
  void integersMustBeIntegersInRangeAndKeysKnown() {
    String json = GraphFile.write(dev.nodal.train.ModelZoo.mlp(1, 3, 2, 4), 1);
    java.util.function.Function<String, String> refused = edited -> assertThrows(GraphException.class,
        () -> GraphFile.read(edited, "g.json")).getMessage();
    assertTrue(json.contains("\"shape\" : [ 3, 4 ]"), json);
    assertEquals("g.json: node 'fc1.W': 'shape'[1]: 4294967300 is out of range [-1, 2147483647]",
        refused.apply(json.replace("\"shape\" : [ 3, 4 ]", "\"shape\" : [ 3, 4294967300 ]")));
    assertEquals("g.json: node 'fc1.W': 'shape'[1]: fractional number 4.5 where an integer belongs",
        refused.apply(json.replace("\"shape\" : [ 3, 4 ]", "\"shape\" : [ 3, 4.5 ]")));
    assertEquals("g.json: node 'fc1.W': 'shape'[1]: text \"4\" where an integer belongs",
        refused.apply(json.replace("\"shape\" : [ 3, 4 ]", "\"shape\" : [ 3, \"4\" ]")));
    assertEquals("g.json: node 'fc1': dense: unknown attribute 'activaton'; known: [activation]",
        refused.apply(json.replaceFirst("\"activation\"", "\"activaton\"")));
    assertEquals("g.json: node 'fc1.W': unknown key 'colour'; known: [init, kind, name, shape]",
        refused.apply(json.replaceFirst("\"init\" : \"he\"", "\"init\" : \"he\", \"colour\" : \"red\"")));
    assertEquals("g.json: node 'fc1': 'shape' is [-1, 5], but the graph gives the node [-1, 4]",
        refused.apply(json.replace("\"shape\" : [ -1, 4 ]", "\"shape\" : [ -1, 5 ]")));
    assertEquals("g.json: 'seed': text \"abc\" where an integer belongs",
        refused.apply(json.replace("\"seed\" : 1", "\"seed\" : \"abc\"")));
    assertEquals("g.json: unknown key 'sed'; known: [format, loss, nodes, optimizer, seed, version]",
        refused.apply(json.replace("\"seed\" : 1", "\"sed\" : 1")));
    assertTrue(refused.apply(json.replace("\"version\" : 2,", "\"version\" : 2, \"version\" : 2,"))
        .startsWith("g.json: key 'version' appears twice in one object"));
  }

  @Test
  void anOptimizerIsWrittenAndReadLikeAnOp() {
    Graph g = Models.mlp(1, 3, 4, 2);
    dev.nodal.optim.OptimizerSpec adam = dev.nodal.optim.Adam.adamW().learningRate(0.002f).betas(0.9f, 0.98f).clipNorm(1f)
        .spec();
    String json = GraphFile.write(g, 1, adam);
    dev.nodal.optim.OptimizerSpec back = GraphFile.readOptimizer(json, "g.json");
    assertEquals("adamw", back.name());
    assertEquals(adam, back);
    assertEquals(null, GraphFile.readOptimizer(GraphFile.write(g, 1), "g.json"));
    String bad = json.replace("\"adamw\"", "\"rmsprop\"");
    GraphException e = assertThrows(GraphException.class, () -> GraphFile.readOptimizer(bad, "g.json"));
    assertTrue(e.getMessage().startsWith("g.json: optimizer: unknown optimizer 'rmsprop'"), e.getMessage());
    assertEquals(g.size(), GraphFile.read(json, "g.json").size(), "the graph reads as before");
  }
}
