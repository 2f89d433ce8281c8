package dev.nodal.backend;

import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;

/**
 * Which {@link Session} call may follow which, as {@link Session} states them: a session reuses
 * memory (backward writes gradients where forward values were, and values are sized for the
 * batch they were computed at), so it tracks which results of the last forward and backward are
 * intact. A session asks before each call ({@code require…}, {@code before…}) and reports what ran
 * after it ({@code …Ran}, {@link #changed}); a refusal is an {@link IllegalStateException} saying
 * what to call first, or a {@link GraphException} for inputs that do not make one batch.
 *
 * <p>Also the session's mode (training or evaluation), the batch of every input, and whether it
 * is closed. Not thread-safe: a session calls it from inside its {@link ThreadGuard}.
 */
public final class CallOrder {
  private final Graph graph;
  /** Examples held by each input, in {@link Graph#inputs()} order; 0 while unset. */
  private final int[] inputBatch;
  /** Batch of the input set last. */
  private int batch;
  private boolean closed;
  /** The mode of the next forward: training by default when the graph has a loss. */
  private boolean training;
  /** Batch of the last forward (0 for a graph without inputs); -1 before the first. */
  private int forwardBatch = -1;
  /** The mode of the last forward. */
  private boolean forwardTraining;
  /** Why backward() cannot use the last forward's values, or null when it can. */
  private String forwardSpent = "no forward() has run";
  /** Batch of the last backward; -1 before the first. */
  private int backwardBatch = -1;
  /** True from a backward() until the update() that applies its gradients. */
  private boolean gradientsPending;

  /** The rules for a new session of {@code graph}: open, nothing set, in training mode when it has a loss. */
  public CallOrder(Graph graph) {
    this.graph = graph;
    this.inputBatch = new int[graph.inputs().size()];
    this.training = graph.loss() != null;
  }

  /** Every call but {@code close()} is refused once closed. */
  public void requireOpen() {
    if (closed) throw new IllegalStateException("this session is closed");
  }

  /** Marks the session closed; false when it was closed already (a second close does nothing). */
  public boolean close() {
    if (closed) return false;
    closed = true;
    return true;
  }

  /** The mode of the following forwards. */
  public boolean training() {
    return training;
  }

  /** Sets the mode of the following forwards. */
  public void setTraining(boolean training) {
    this.training = training;
  }

  /** The batch of the input set last; 0 before any. */
  public int batch() {
    return batch;
  }

  /** A setInput of {@code input} began: whatever is refused next, its old batch is stale now. */
  public void settingInput(Input input) {
    inputBatch[graph.inputs().indexOf(input)] = 0;
  }

  /** {@code input} now holds {@code n} examples. */
  public void inputSet(Input input, int n) {
    inputBatch[graph.inputs().indexOf(input)] = n;
    batch = n;
  }

  /** The batch of a forward: refused, naming the input, unless every input holds the same number of examples. */
  public int checkedBatch() {
    for (int i = 0; i < inputBatch.length; i++) {
      if (inputBatch[i] != batch || inputBatch[i] == 0) {
        Input in = graph.inputs().get(i);
        throw new GraphException(inputBatch[i] == 0
            ? "input '" + in.name() + "' has not been set"
            : "input '" + in.name() + "' holds " + inputBatch[i] + " examples, the last input set holds " + batch);
      }
    }
    return batch;
  }

  /**
   * {@code call} (as {@code setParam("w")}, say) changed what the last forward computed from, so
   * backward() can no longer use its values.
   */
  public void changed(String call) {
    if (forwardSpent == null) forwardSpent = call + " was called after it";
  }

  /** A forward of {@code n} examples ran, in the current mode. */
  public void forwardRan(int n) {
    forwardBatch = n;
    forwardTraining = training;
    forwardSpent = null;
  }

  /** Refuses {@code call} (as {@code "loss()"}, say) before the first forward. */
  public void requireForward(String call) {
    if (forwardBatch < 0) throw new IllegalStateException(call + " needs a forward() first");
  }

  /**
   * How many values {@code value(node)} returns now: a parameter's or state's, an input's as last
   * set, any other node's for the last forward's batch. Refused when there are none yet.
   */
  public int valueCount(Node node) {
    if (node instanceof Param || node instanceof State) return node.shape().exampleSize();
    if (node instanceof Input in) {
      int n = inputBatch[graph.inputs().indexOf(in)];
      if (n == 0) throw new IllegalStateException("value(" + in.kind() + " '" + in.name() + "') needs setInput first");
      return node.shape().size(n);
    }
    if (forwardBatch < 0) {
      throw new IllegalStateException("value(" + node.kind() + " '" + node.name() + "') needs a forward() first");
    }
    return node.shape().size(forwardBatch);
  }

  /**
   * The batch backward() runs at, that of the last forward: refused unless that forward ran in
   * training mode and its values are intact.
   */
  public int beforeBackward() {
    if (forwardSpent != null) throw new IllegalStateException("backward() needs a forward() first: " + forwardSpent);
    if (!forwardTraining) {
      throw new IllegalStateException("backward() needs a forward() in training mode; the last ran in evaluation mode "
          + "(setTraining(true), then forward() again)");
    }
    return forwardBatch;
  }

  /** A backward ran: its gradients await an update, and the forward's values are spent. */
  public void backwardRan() {
    backwardBatch = forwardBatch;
    gradientsPending = true;
    forwardSpent = "the last backward() reused the memory of its values; call forward() again";
  }

  /** The batch of the last backward; refuses {@code call} (as {@code "gradients()"}, say) before the first. */
  public int requireBackward(String call) {
    if (backwardBatch < 0) throw new IllegalStateException(call + " needs a backward() first");
    return backwardBatch;
  }

  /** The batch of the last backward, whose gradient of {@code node} is asked for; refused before the first. */
  public int gradientBatch(Node node) {
    if (backwardBatch < 0) {
      throw new IllegalStateException("gradient(" + node.kind() + " '" + node.name() + "') needs a backward() first");
    }
    return backwardBatch;
  }

  /** Refuses an update while no optimizer is set. */
  public static void requireOptimizer(Optimizer optimizer) {
    if (optimizer == null) throw new IllegalStateException("no optimizer: call setOptimizer before update");
  }

  /** Refuses update() unless a backward's gradients await it. */
  public void beforeUpdate() {
    if (!gradientsPending) throw new IllegalStateException("update() needs a backward() first: " + whyNoGradients());
  }

  /** An update applied the pending gradients. */
  public void updateRan() {
    gradientsPending = false;
  }

  /** Refuses setGradients() unless a backward's gradients await an update. */
  public void beforeSetGradients() {
    if (!gradientsPending) {
      throw new IllegalStateException("setGradients() belongs between backward() and update(): " + whyNoGradients());
    }
  }

  private String whyNoGradients() {
    return backwardBatch < 0 ? "no backward() has run" : "the gradients of the last backward() were applied already";
  }
}
