package dev.nodal.graph;

/** A graph that cannot be built or run as described; the message names the nodes involved. */
public class GraphException extends RuntimeException {
  public GraphException(String message) {
    super(message);
  }
}
