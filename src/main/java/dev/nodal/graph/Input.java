package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Static data: a batch of examples or of labels, set by the caller before every step. Its shape
 * starts with the batch dimension. A labels input holds integer class indices (stored as floats)
 * in {@code [0, classes)}; its values are checked when they are set.
 */
public final class Input extends Node {
  private final int classes;

  Input(GraphBuilder owner, String name, Shape shape, int classes) {
    super(owner, name, shape);
    this.classes = classes;
  }

  /** True when this input holds class indices. */
  public boolean isLabels() {
    return classes > 0;
  }

  /** Number of classes of a labels input; 0 for other inputs. */
  public int classes() {
    return classes;
  }

  @Override
  public List<Node> inputs() {
    return List.of();
  }

  @Override
  public String kind() {
    return isLabels() ? "labels" : "input";
  }
}
