package dev.nodal.graph;

import dev.nodal.tensor.Shape;
import java.util.List;

/**
 * Static data: a batch of examples or of labels, set by the caller before every step. Its shape
 * starts with the batch dimension. A labels input holds integer class indices (stored as floats)
 * in {@code [0, classes)}, set as ints ({@code Session.setLabels}) or as floats
 * ({@code Session.setInput}); its values are checked when they are set.
 *
 * <p>An input of examples may ask for its gradient ({@link #requiresGrad()}, PyTorch's
 * {@code x.requires_grad_()}): backward then computes {@code dL/dx} for it, which
 * {@code Session.gradient(x)} returns, as for saliency maps and adversarial examples. It is not
 * trained: no optimizer touches an input.
 */
public final class Input extends Node {
  private final int classes;
  private boolean gradRequested;

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

  /**
   * Asks for this input's gradient: backward computes {@code dL/dx} for every example, and a
   * session keeps it for {@code gradient(x)} to read. Called before the graph is built, on an
   * input of examples (class indices have no gradient); the input must reach the loss, which the
   * build checks. Returns this input.
   *
   * @throws GraphException for a labels input
   * @throws IllegalStateException once its builder has built its graph
   */
  public Input requiresGrad() {
    owner().checkOpen();
    if (isLabels()) {
      throw new GraphException("labels '" + name() + "': class indices have no gradient; requiresGrad() is for inputs of "
          + "examples (GraphBuilder.input)");
    }
    gradRequested = true;
    return this;
  }

  /** True when this input asked for its gradient ({@link #requiresGrad()}). */
  public boolean isGradRequested() {
    return gradRequested;
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
