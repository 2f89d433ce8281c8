package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Locale;

/** What shape inference sees of a node under construction: its name and its inputs. */
public final class ShapeContext {
  private final String kind;
  private final String nodeName;
  private final List<Node> inputs;

  public ShapeContext(String kind, String nodeName, List<Node> inputs) {
    this.kind = kind;
    this.nodeName = nodeName;
    this.inputs = inputs;
  }

  /** How many inputs the node has: what a {@link Op#isVariadic() variadic} op was given. */
  public int inputCount() {
    return inputs.size();
  }

  public Shape in(int i) {
    return inputs.get(i).shape();
  }

  /** The name of input {@code i}, for messages. */
  public String name(int i) {
    return inputs.get(i).name();
  }

  public Node node(int i) {
    return inputs.get(i);
  }

  public boolean isLabels(int i) {
    return inputs.get(i) instanceof Input in && in.isLabels();
  }

  /** An error that starts with the node type and name: {@code dense 'fc2': ...}. */
  public GraphException error(String format, Object... args) {
    return new GraphException(kind + " '" + nodeName + "': " + String.format(Locale.ROOT, format, args));
  }

  /** Fails unless input {@code i} has the given rank. */
  public void requireRank(int i, int rank, String what) {
    if (in(i).rank() != rank) {
      throw error("input '%s' must be %s (rank %d), has shape %s", name(i), what, rank, in(i));
    }
  }
}
