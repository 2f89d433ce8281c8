package dev.nodal.plan;

import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import java.util.Set;

/**
 * Which values and gradients survive a step (and may be read after it). Always: parameters,
 * states, inputs, the loss, nodes that feed nothing, and the gradients of parameters, of inputs
 * that ask for theirs and of the loss; besides
 * those, the named nodes, or every node with {@code all}. The rest share memory.
 */
public record Keep(boolean all, Set<String> names) {
  public Keep {
    names = Set.copyOf(names);
  }

  public boolean value(Graph graph, Node node) {
    return node instanceof Param || node instanceof State || node instanceof Input || node == graph.loss() || graph.consumers(node).isEmpty()
        || all || names.contains(node.name());
  }

  public boolean gradient(Graph graph, Node node) {
    return graph.needsGradient(node) && (node instanceof Param || node instanceof Input || node == graph.loss() || all
        || names.contains(node.name()));
  }
}
