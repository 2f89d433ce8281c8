package dev.nodal.graph;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Op;
import dev.nodal.ops.Add;
import dev.nodal.ops.Dense;
import dev.nodal.ops.MatMul;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.ops.Relu;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Tanh;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * 1,000 seeded random graphs, each with one defect (a cycle, a shape mismatch, a dangling or
 * foreign input, a wrong arity, a non-scalar loss, a shape whose product overflows, a duplicate or
 * empty name, a null argument, a parameter that cannot reach the loss), after a random valid
 * prefix: every one is refused while it is built, with a {@link GraphException} that names a node
 * of the defect. None gives a NullPointerException or an index exception.
 */
class MalformedGraphFuzzTest {
  private static final int GRAPHS = 1000;

  /** One defect: what it builds, and a name its message must contain. */
  private record Defect(String kind, String named) {}

  @Test
  void everyMalformedGraphIsRefusedNamingItsNodes() {
    SplittableRandom r = new SplittableRandom(17);
    int rejected = 0, unexpected = 0, unnamed = 0;
    List<String> surprises = new ArrayList<>();
    int[] perKind = new int[11];
    for (int i = 0; i < GRAPHS; i++) {
      int kind = r.nextInt(11);
      perKind[kind]++;
      GraphBuilder g = new GraphBuilder(i);
      int width = 1 + r.nextInt(9);
      Node h = g.input("x", width);
      for (int k = r.nextInt(4); k > 0; k--) h = g.apply(new Tanh(), "t" + k, h); // a valid prefix
      String culprit = "bad" + i;
      try {
        build(kind, g, h, width, culprit, r);
        surprises.add("graph " + i + " (defect " + kind + ") was built");
      } catch (GraphException e) {
        rejected++;
        if (!e.getMessage().contains("'" + culprit + "'") && !e.getMessage().contains("'" + culprit + "2'")) {
          unnamed++;
          surprises.add("graph " + i + " (defect " + kind + "): message names no node of the defect: " + e.getMessage());
        }
      } catch (RuntimeException e) {
        unexpected++;
        surprises.add("graph " + i + " (defect " + kind + "): " + e);
      }
    }
    System.out.printf("%d malformed graphs: %d rejected, %d unexpected exceptions, %d messages without the node "
        + "(defects per kind: %s)%n", GRAPHS, rejected, unexpected, unnamed, java.util.Arrays.toString(perKind));
    assertTrue(surprises.isEmpty(), surprises.size() + " surprises; first: " + surprises.subList(0, Math.min(5, surprises.size())));
    assertEquals(GRAPHS, rejected);
  }

  private static void build(int kind, GraphBuilder g, Node h, int width, String bad, SplittableRandom r) {
    int other = width + 1 + r.nextInt(5);
    switch (kind) {
      case 0 -> { // a cycle through names, bad -> bad2 -> bad: refused at its forward reference
        g.apply(new Relu(), bad, bad + "2");
        g.apply(new Relu(), bad + "2", bad);
        g.build();
      }
      case 1 -> { // a shape mismatch in a dense layer
        Param w = g.param("w", Init.xavier(), other, 3);
        Param b = g.param("b", Init.zeros(), 3);
        g.apply(new Dense(), bad, h, w, b);
      }
      case 2 -> { // a dangling input, named but never defined: refused at the call
        g.apply(new Tanh(), bad, "missing" + r.nextInt(100));
      }
      case 3 -> { // a foreign input, from another builder
        GraphBuilder elsewhere = new GraphBuilder(1);
        g.apply(new Mul(), bad, h, elsewhere.input("y", width));
      }
      case 4 -> { // a wrong arity
        Op op = r.nextBoolean() ? new Relu() : new Dense();
        g.apply(op, bad, h, h);
      }
      case 5 -> { // a loss that is not a scalar
        g.build(g.apply(new Tanh(), bad, h));
      }
      case 6 -> { // dimensions whose product overflows
        int d = 50_000 + r.nextInt(50_000);
        if (r.nextBoolean()) g.param(bad, Init.zeros(), d, d);
        else g.input(bad, d, d);
      }
      case 7 -> { // a name used twice
        g.apply(new Tanh(), bad, h);
        g.apply(new Relu(), bad, h);
      }
      case 8 -> { // a null input, or an elementwise op over mismatched shapes
        if (r.nextBoolean()) g.apply(new Add(), bad, h, null);
        else g.apply(new Mse(), bad, h, g.param("p", Init.zeros(), other));
      }
      case 9 -> { // a parameter that never reaches the loss
        g.param(bad, Init.zeros(), width);
        Input y = g.labels("y", width);
        g.build(g.apply(new SoftmaxCrossEntropy(), "loss", h, y));
      }
      default -> { // a matrix product of incompatible operands
        g.apply(new MatMul(), bad, g.param("a", Init.zeros(), 2, width), g.param("c", Init.zeros(), other, 2));
      }
    }
  }
}
