package dev.nodal.backend;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.optim.Optimizer;
import java.util.List;

/**
 * What {@link CompileOptions#checkNumerics()} adds after each pass: the first node that made a NaN
 * or an infinity from finite values, thrown as a {@link NonFiniteException} that names it. It
 * reads the session's values and gradients, so it costs a read of every node per pass.
 */
final class NumericsHunt {
  /** Reads the first {@code count} floats of a node's value or gradient from the session. */
  interface Reader {
    float[] read(Node node, int count);
  }

  private final Graph graph;
  private final Reader values;
  private final Reader gradients;

  NumericsHunt(Graph graph, Reader values, Reader gradients) {
    this.graph = graph;
    this.values = values;
    this.gradients = gradients;
  }

  /** In forward order, the first node whose output is not finite produced it: its inputs were finite. */
  void afterForward(int n) {
    for (Node node : graph.nodes()) {
      if (!(node instanceof Apply a)) continue;
      float[] v = values.read(node, node.shape().size(n));
      int at = firstNonFinite(v);
      if (at >= 0) {
        throw new NonFiniteException("forward", node.name(), "forward: " + node.kind() + " '" + node.name() + "' produced "
            + v[at] + " at element " + at + " from finite inputs "
            + a.inputs().stream().map(i -> "'" + i.name() + "'").toList());
      }
    }
  }

  /**
   * In backward order, the first node whose gradient is not finite: the backward of one of its
   * consumers wrote it, from finite gradients.
   */
  void afterBackward(int n) {
    List<Node> nodes = graph.nodes();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node node = nodes.get(i);
      if (!graph.needsGradient(node)) continue;
      float[] g = gradients.read(node, node.shape().size(n));
      int at = firstNonFinite(g);
      if (at >= 0) {
        throw new NonFiniteException("backward", node.name(), "backward: the gradient of " + node.kind() + " '"
            + node.name() + "' is " + g[at] + " at element " + at + ", written by the backward of "
            + graph.consumers(node).stream().map(c -> c.kind() + " '" + c.name() + "'").toList());
      }
    }
  }

  /** The first parameter that {@code optimizer}'s update made not finite. */
  void afterUpdate(Optimizer optimizer) {
    for (Param p : graph.params()) {
      float[] v = values.read(p, p.shape().exampleSize());
      int at = firstNonFinite(v);
      if (at >= 0) {
        throw new NonFiniteException("update", p.name(), "update: " + optimizer.name() + " made param '" + p.name()
            + "' " + v[at] + " at element " + at + " (a smaller learning rate, or clip_norm, may help)");
      }
    }
  }

  private static int firstNonFinite(float[] v) {
    for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) return i;
    return -1;
  }
}
