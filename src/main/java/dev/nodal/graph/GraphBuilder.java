package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Creates the nodes of one graph, checking each as it is made, and the whole when {@link #build}
 * is called. Inputs of a function node are given as nodes of this builder or by name, and must
 * exist already: a node is made after its inputs, so the order of creation is a topological order
 * and no cycle can arise (a graph file, likewise, lists each node after its inputs).
 *
 * <p>Parameter seeds derive from the builder's seed and the parameter's name, so the same
 * description gives the same initial weights on every machine. A builder builds one graph; it
 * cannot be used after {@link #build}.
 */
public final class GraphBuilder {
  private final long seed;
  private final Map<String, Node> byName = new LinkedHashMap<>();
  private final Map<String, Integer> autoNames = new HashMap<>();
  private boolean built;

  public GraphBuilder(long seed) {
    this.seed = seed;
  }

  public GraphBuilder() {
    this(0L);
  }

  /** A batch of examples, each of the given dimensions: shape {@code [N, exampleDims...]}. */
  public Input input(String name, int... exampleDims) {
    return add(new Input(this, name, shape("input", name, () -> Shape.batchOf(exampleDims)), 0));
  }

  /** A batch of integer class indices in {@code [0, classes)}: shape {@code [N]}. */
  public Input labels(String name, int classes) {
    return labels(name, classes, new int[0]);
  }

  /**
   * A batch of integer class indices in {@code [0, classes)}, each example of the given
   * dimensions: shape {@code [N, exampleDims...]}, as the next-token targets {@code [N, T]} of a
   * sequence model or the token ids an {@code Embedding} looks up.
   */
  public Input labels(String name, int classes, int... exampleDims) {
    if (classes < 1) throw new GraphException("labels '" + name + "': classes must be >= 1, got " + classes);
    return add(new Input(this, name, shape("labels", name, () -> Shape.batchOf(exampleDims)), classes));
  }

  /** A trainable tensor of the given dimensions (no batch dimension). */
  public Param param(String name, Init init, int... dims) {
    checkName("param", name);
    if (init == null) throw new GraphException("param '" + name + "': no initializer");
    Shape shape = shape("param", name, () -> Shape.of(dims));
    if (shape.hasBatch()) throw new GraphException("param '" + name + "': a parameter has no batch dimension");
    long paramSeed = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * name.hashCode())).nextLong();
    return add(new Param(this, name, shape, init, paramSeed));
  }

  /**
   * Non-trainable data of the given dimensions (no batch dimension), such as batch norm's running
   * statistics: see {@link State}.
   */
  public State state(String name, Init init, int... dims) {
    checkName("state", name);
    if (init == null) throw new GraphException("state '" + name + "': no initializer");
    Shape shape = shape("state", name, () -> Shape.of(dims));
    if (shape.hasBatch()) throw new GraphException("state '" + name + "': a state has no batch dimension");
    return add(new State(this, name, shape, init));
  }

  /**
   * Applies {@code op} to nodes of this builder. Arity and shapes are checked at once, so the
   * returned node's shape is known.
   */
  public Apply apply(Op op, String name, Node... inputs) {
    if (op == null) throw new GraphException("node '" + name + "': no op");
    checkName(op.kind(), name);
    if (inputs == null) throw new GraphException(op.kind() + " '" + name + "': no inputs");
    String[] names = new String[inputs.length];
    for (int i = 0; i < inputs.length; i++) {
      Node in = inputs[i];
      if (in == null) throw new GraphException(op.kind() + " '" + name + "': input " + i + " is null");
      if (in.owner() != this) {
        throw new GraphException(op.kind() + " '" + name + "': input '" + in.name()
            + "' belongs to another graph; build each graph from its own nodes");
      }
      names[i] = in.name();
    }
    Apply a = new Apply(this, name, op, Arrays.asList(names));
    a.inputs = checkArity(a, List.of(inputs));
    a.shape = inferShape(a);
    return add(a);
  }

  /**
   * Applies {@code op} to nodes of this builder given by name, which must exist already: a name
   * not made yet is refused here, naming it and the node being built, with the names that do
   * exist when there are few of them, else the nearest ones.
   */
  public Apply apply(Op op, String name, String... inputNames) {
    if (op == null) throw new GraphException("node '" + name + "': no op");
    checkName(op.kind(), name);
    if (inputNames == null || Arrays.asList(inputNames).contains(null)) {
      throw new GraphException(op.kind() + " '" + name + "': an input name is null");
    }
    Node[] inputs = new Node[inputNames.length];
    for (int i = 0; i < inputs.length; i++) {
      inputs[i] = byName.get(inputNames[i]);
      if (inputs[i] == null) {
        throw new GraphException(op.kind() + " '" + name + "': input '" + inputNames[i] + "' is not a node of this graph "
            + "(a node is made after its inputs); " + known(inputNames[i]));
      }
    }
    return apply(op, name, inputs);
  }

  /** The names made so far when they are few, else the nearest to {@code missing} (a typo away). */
  private String known(String missing) {
    if (byName.isEmpty()) return "no node has been made yet";
    if (byName.size() <= 12) return "the nodes so far are " + byName.keySet();
    int nearest = byName.keySet().stream().mapToInt(n -> distance(n, missing)).min().orElseThrow();
    List<String> near = nearest > Math.max(2, missing.length() / 3) ? List.of()
        : byName.keySet().stream().filter(n -> distance(n, missing) == nearest).limit(5).toList();
    return near.isEmpty() ? "no node of the " + byName.size() + " made so far has a similar name"
        : "did you mean " + String.join(" or ", near.stream().map(n -> "'" + n + "'").toList()) + "?";
  }

  /** Levenshtein distance: single-character insertions, deletions and substitutions. */
  private static int distance(String a, String b) {
    int[] row = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) row[j] = j;
    for (int i = 1; i <= a.length(); i++) {
      int diagonal = row[0];
      row[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int above = row[j];
        row[j] = Math.min(Math.min(row[j] + 1, row[j - 1] + 1), diagonal + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
        diagonal = above;
      }
    }
    return row[b.length()];
  }

  /** Applies {@code op} under a generated name such as {@code relu_2}. */
  public Apply apply(Op op, Node... inputs) {
    String base = op.kind();
    String name;
    do {
      int k = autoNames.merge(base, 1, Integer::sum);
      name = base + "_" + k;
    } while (byName.containsKey(name));
    return apply(op, name, inputs);
  }

  /** The node of that name, or null. */
  public Node node(String name) {
    return byName.get(name);
  }

  /** Builds a graph with no loss, for inference only. */
  public Graph build() {
    return build(null);
  }

  /**
   * Checks every node and returns the immutable graph. The loss, if given, must be a scalar, and
   * every parameter must reach it: a parameter that cannot is an error (it would never train,
   * which is almost always a wiring mistake), named in the message.
   */
  public Graph build(Node loss) {
    checkOpen();
    built = true;
    if (loss != null && loss.owner() != this) throw new GraphException("loss '" + loss.name() + "' belongs to another graph");
    List<Node> order = List.copyOf(byName.values()); // each node was made after its inputs
    for (int i = 0; i < order.size(); i++) order.get(i).id = i;
    if (loss != null && !loss.shape().isScalar()) {
      throw new GraphException("loss '" + loss.name() + "' must be a scalar, has shape " + loss.shape());
    }
    return new Graph(order, loss);
  }

  /** A shape, or a {@link GraphException} that names the node. */
  private static Shape shape(String kind, String name, java.util.function.Supplier<Shape> make) {
    try {
      return make.get();
    } catch (IllegalArgumentException | NullPointerException e) {
      throw new GraphException(kind + " '" + name + "': " + (e.getMessage() == null ? "no dimensions" : e.getMessage()));
    }
  }

  private static void checkName(String kind, String name) {
    if (name == null || name.isBlank()) throw new GraphException(kind + ": a node needs a non-empty name");
  }

  private <T extends Node> T add(T node) {
    checkOpen();
    String name = node.name();
    checkName(node.kind(), name);
    if (byName.containsKey(name)) {
      throw new GraphException(node.kind() + " '" + name + "': the name is already used by " + byName.get(name));
    }
    byName.put(name, node);
    return node;
  }

  void checkOpen() {
    if (built) throw new IllegalStateException("this GraphBuilder has already built its graph; start a new one");
  }

  private static List<Node> checkArity(Apply a, List<Node> inputs) {
    List<String> roles = a.op().inputRoles();
    boolean variadic = a.op().isVariadic();
    if (variadic && roles.isEmpty()) {
      throw new GraphException(a.kind() + " '" + a.name() + "': a variadic op names at least one input role, "
          + "which its further inputs repeat");
    }
    if (variadic ? inputs.size() < roles.size() : inputs.size() != roles.size()) {
      String expected = variadic
          ? "at least " + roles.size() + (roles.size() == 1 ? " input " : " inputs ") + roles + " (more repeat '"
              + roles.get(roles.size() - 1) + "')"
          : roles.size() + " inputs " + roles;
      throw new GraphException(a.kind() + " '" + a.name() + "': expects " + expected + ", got " + inputs.size() + " "
          + a.inputNames);
    }
    return List.copyOf(inputs);
  }

  private static Shape inferShape(Apply a) {
    return a.op().inferShape(new ShapeContext(a.kind(), a.name(), a.inputs()));
  }
}
