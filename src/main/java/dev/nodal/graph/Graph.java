package dev.nodal.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * An immutable, checked graph: its nodes in topological order (a node's inputs come before it),
 * the loss if it has one, and which nodes need a gradient. Made by {@link GraphBuilder#build}.
 */
public final class Graph {
  private final List<Node> nodes;
  private final Map<String, Node> byName = new LinkedHashMap<>();
  private final Node loss;
  private final List<Input> inputs = new ArrayList<>();
  private final List<Param> params = new ArrayList<>();
  private final List<State> states = new ArrayList<>();
  private final boolean[] needsGradient;
  private final List<List<Node>> consumers = new ArrayList<>();

  Graph(List<Node> order, Node loss) {
    this.nodes = List.copyOf(order);
    this.loss = loss;
    for (Node n : nodes) consumers.add(new ArrayList<>());
    for (Node n : nodes) {
      for (Node in : n.inputs()) if (!consumers.get(in.id).contains(n)) consumers.get(in.id).add(n);
    }
    for (Node n : nodes) {
      byName.put(n.name(), n);
      if (n instanceof Input in) inputs.add(in);
      if (n instanceof Param p) params.add(p);
      if (n instanceof State st) states.add(st);
    }
    for (State st : states) {
      if (consumers.get(st.id).size() > 1) {
        throw new GraphException("state '" + st.name() + "' feeds " + consumers.get(st.id).stream()
            .map(c -> "'" + c.name() + "'").toList() + ": the node that consumes a state updates it, so only one may");
      }
    }
    this.needsGradient = loss == null ? new boolean[nodes.size()] : gradientNodes();
  }

  /**
   * A node needs a gradient when it lies on a path to the loss from a parameter or from an input
   * that asks for its gradient ({@link Input#requiresGrad()}): it feeds the loss, and one of those
   * feeds it. Every other node is skipped by backward. Also rejects parameters, and inputs that
   * ask for their gradient, that cannot reach the loss.
   */
  private boolean[] gradientNodes() {
    int n = nodes.size();
    boolean[] reachesLoss = new boolean[n];
    reachesLoss[loss.id] = true;
    for (int i = n - 1; i >= 0; i--) {
      if (!reachesLoss[i]) continue;
      for (Node in : nodes.get(i).inputs()) reachesLoss[in.id] = true;
    }
    List<String> dead = new ArrayList<>();
    for (Param p : params) if (!reachesLoss[p.id]) dead.add("'" + p.name() + "'");
    if (!dead.isEmpty()) {
      throw new GraphException("param " + String.join(", ", dead) + " never reaches the loss '" + loss.name()
          + "': it would never be trained; connect it or remove it");
    }
    for (Input in : inputs) {
      if (in.isGradRequested() && !reachesLoss[in.id]) {
        throw new GraphException("input '" + in.name() + "' asks for its gradient (requiresGrad()) but never reaches the loss '"
            + loss.name() + "', so it has none; connect it or drop requiresGrad()");
      }
    }
    boolean[] fromSource = new boolean[n];
    for (int i = 0; i < n; i++) {
      Node node = nodes.get(i);
      if (node instanceof Param || node instanceof Input in && in.isGradRequested()) fromSource[i] = true;
      for (Node in : node.inputs()) fromSource[i] |= fromSource[in.id];
    }
    boolean[] needs = new boolean[n];
    for (int i = 0; i < n; i++) needs[i] = reachesLoss[i] && fromSource[i];
    return needs;
  }

  /** Every node, each after its inputs. */
  public List<Node> nodes() {
    return nodes;
  }

  /** The nodes that take {@code n} as an input, each once, in topological order. */
  public List<Node> consumers(Node n) {
    return Collections.unmodifiableList(consumers.get(n.id));
  }

  public int size() {
    return nodes.size();
  }

  /** The node of that name; throws naming the graph's nodes if there is none. */
  public Node node(String name) {
    Node n = byName.get(name);
    if (n == null) throw new GraphException("no node named '" + name + "' in this graph");
    return n;
  }

  public boolean hasNode(String name) {
    return byName.containsKey(name);
  }

  /** The scalar loss, or null for an inference-only graph. */
  public Node loss() {
    return loss;
  }

  public List<Input> inputs() {
    return Collections.unmodifiableList(inputs);
  }

  public List<Param> params() {
    return Collections.unmodifiableList(params);
  }

  /** The non-trainable data nodes, in topological order. */
  public List<State> states() {
    return Collections.unmodifiableList(states);
  }

  /** True when backward computes this node's gradient (see {@link #gradientNodes}). */
  public boolean needsGradient(Node n) {
    return needsGradient[n.id];
  }

  /** Elements of every parameter together. */
  public long parameterCount() {
    long c = 0;
    for (Param p : params) c += p.shape().exampleSize();
    return c;
  }
}
