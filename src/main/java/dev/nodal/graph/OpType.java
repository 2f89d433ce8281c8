package dev.nodal.graph;

import java.util.Map;

/**
 * A node type of one's own, found through {@link java.util.ServiceLoader}: list the class in
 * {@code META-INF/services/dev.nodal.graph.OpType} (or {@code provides} it in a module descriptor),
 * and graph files and checkpoints that hold nodes of {@link #kind()} save and load like Nodal's own.
 *
 * <p>An implementation has a public no-argument constructor. Its kind may not be one of Nodal's
 * own node types or a data node's ({@code input}, {@code labels}, {@code param}, {@code state}),
 * and two types may not share a kind; each is an error naming the classes when a graph file is
 * read or written. A graph file refuses to hold an op whose kind has no registered type. The op's {@link Op#kind()} must equal this kind and its
 * {@link Op#attributes()} must hold what {@link #create} reads back: numbers, strings, booleans.
 */
public interface OpType {
  /** The node type's name in graph files, for example {@code "swish"}. */
  String kind();

  /**
   * Makes the op from the attributes a graph file holds for it. Read every key the op has (a key
   * left unread is refused as unknown, so that a misspelt one is never dropped in silence); throw
   * IllegalArgumentException, naming the attribute, for a value out of range.
   */
  Op create(Map<String, Object> attributes);

  /**
   * The attributes of this node type, when it declares them: then a graph file's attributes are
   * checked against it (unknown keys, types, ranges, defaults filled in) before {@link #create}
   * sees them. Null, the default, leaves the checks to {@code create}.
   */
  default AttributeSchema schema() {
    return null;
  }
}
