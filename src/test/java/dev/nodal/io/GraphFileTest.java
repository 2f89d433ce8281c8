package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Node;
import dev.nodal.graph.Op;
import dev.nodal.graph.Param;
import dev.nodal.ops.OpCatalogue;
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
    String v2 = GraphFile.write(Models.mlp(1, 3, 4, 2), 1).replace("\"version\" : 1", "\"version\" : 2");
    assertTrue(assertThrows(GraphException.class, () -> GraphFile.read(v2, "g.json")).getMessage().contains("version 2 is not supported"));
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
    assertTrue(refused.apply(json.replace("\"version\" : 1,", "\"version\" : 1, \"version\" : 1,"))
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
