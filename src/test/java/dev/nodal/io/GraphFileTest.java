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
    for (OpCatalogue.Entry e : OpCatalogue.entries()) {
      for (OpCatalogue.Sample s : e.gradientSamples()) {
        Op op = s.op();
        Op back = OpCatalogue.create(op.kind(), op.attributes());
        assertEquals(op.getClass(), back.getClass());
        assertEquals(op.attributes(), back.attributes());
      }
    }
  }

  @Test
  void errorsNameTheFileAndNode() {
    String json = GraphFile.write(Models.mlp(1, 3, 4, 2), 1).replace("\"relu\"", "\"swish\"");
    GraphException e = assertThrows(GraphException.class, () -> GraphFile.read(json, "g.json"));
    assertTrue(e.getMessage().startsWith("g.json: node 'h': unknown node type 'swish'; known: [dense, "), e.getMessage());
    String v2 = GraphFile.write(Models.mlp(1, 3, 4, 2), 1).replace("\"version\" : 1", "\"version\" : 2");
    assertTrue(assertThrows(GraphException.class, () -> GraphFile.read(v2, "g.json")).getMessage().contains("version 2 is not supported"));
  }
}
