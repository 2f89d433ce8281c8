package dev.nodal.backend;

import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;

/**
 * A graph compiled on a backend, with its buffers: parameter values (initialised from each
 * parameter's {@link dev.nodal.graph.Init}), every node's output and, for nodes that need one,
 * its gradient. Arrays passed in or returned are the caller's; the session keeps no reference.
 *
 * <p>A training step is {@link #setInput} for every input, then {@link #trainStep}. One thread at
 * a time: a call made while another thread is inside a call of the same session is refused with
 * an {@link IllegalStateException} that names the session and both threads. A session may pass
 * from one thread to another between calls (an executor's threads may take turns).
 *
 * <p>Call order. A session reuses memory (the backward pass writes gradients where forward values
 * were), so some sequences cannot be served; they throw {@link IllegalStateException} saying what
 * to call first, the same on every backend:
 *
 * <ul>
 *   <li>{@link #backward()} needs a {@link #forward()} since the last backward, setInput and
 *       setParam: it consumes that forward's values.
 *   <li>{@link #update()} needs a backward since the last update: it applies each gradient once.
 *   <li>{@link #loss()}, and {@link #value} of a node that is not an input or parameter, need a
 *       forward; they return what the last forward computed, for its batch. {@link #gradient}
 *       needs a backward and returns what the last one computed.
 *   <li>After {@link #close()} (which may be called any number of times) every other call throws.
 * </ul>
 */
public interface Session extends AutoCloseable {

  Graph graph();

  /** The largest batch this session was compiled for. */
  int maxBatch();

  /** The batch size of the inputs set last; 0 before any input is set. */
  int batch();

  /**
   * Sets a batch of {@code data.length / exampleSize} examples for {@code input} (row-major). All
   * inputs of a step must hold the same number of examples, at most {@link #maxBatch()}. Values
   * must be finite; labels must be class indices. Errors name the input.
   */
  void setInput(Input input, float[] data);

  /**
   * Sets a batch of class indices for a labels input ({@code GraphBuilder.labels}), one per
   * example: as {@link #setInput} with the indices as floats, once the input is known to hold
   * labels and every index to lie in {@code [0, classes)}; errors name the input and the first
   * index at fault. A refused call leaves the input unset, as setInput does.
   */
  default void setLabels(Input labels, int[] indices) {
    SessionChecks.requireNonNull(labels, "labels");
    SessionChecks.requireNonNull(indices, "indices");
    setInput(labels, SessionChecks.labelValues(labels, indices));
  }

  /**
   * Computes every node from the inputs set, in the current mode ({@link #setTraining}). In
   * training mode, ops that own a {@link State} update it.
   */
  void forward();

  /**
   * Sets the mode of the following forwards: training (batch statistics, dropout on, states
   * updated) or evaluation (running statistics, dropout off, nothing updated). A new session is in
   * training mode when its graph has a loss, else in evaluation mode. {@link #backward()} needs a
   * forward in training mode.
   */
  void setTraining(boolean training);

  /** The mode of the following forwards. */
  boolean training();

  /** Seeds the loss with 1 and runs backward in reverse order; gradients are not accumulated across calls. */
  void backward();

  /**
   * Told of each parameter's gradient once a backward has finished it, so that a caller may send
   * it on while the rest of the backward runs (data-parallel training sums gradients that way).
   */
  @FunctionalInterface
  interface GradientReady {
    /**
     * {@code array[offset .. offset + param.shape().exampleSize())} is the parameter's final
     * gradient of this backward. The array is the session's: read it during the call only, and
     * leave it unchanged. Called on the thread that runs the backward; an exception thrown here
     * fails the backward, and with it the session.
     */
    void ready(Param param, float[] array, int offset);

    /** Tells of every parameter of {@code graph}, in {@link Graph#params()} order, from the packed gradients. */
    default void readyAll(Graph graph, float[] packed) {
      int at = 0;
      for (Param p : graph.params()) {
        ready(p, packed, at);
        at += p.shape().exampleSize();
      }
    }
  }

  /**
   * As {@link #backward()}, telling {@code ready} of every parameter once, as soon as its gradient
   * is final: on the CPU backend during the pass, after the node that first uses it (so roughly in
   * reverse of {@link Graph#params()} order for a graph built layer by layer); on a backend that
   * cannot tell sooner, after the pass, in {@link Graph#params()} order.
   */
  default void backward(GradientReady ready) {
    java.util.Objects.requireNonNull(ready, "ready");
    backward();
    ready.readyAll(graph(), gradients());
  }

  /**
   * Installs the optimizer whose update {@link #update()} applies; its state arrays start at zero.
   * The optimizer counts this session's steps: give each session its own.
   */
  void setOptimizer(Optimizer optimizer);

  /** The optimizer set, or null before {@link #setOptimizer}. */
  Optimizer optimizer();

  /** Updates every parameter from its gradient with the optimizer set. */
  void update();

  /** Forward, backward and update; returns the loss. The only read from the device in a step. */
  default float trainStep() {
    forward();
    backward();
    update();
    return loss();
  }

  /** The loss computed by the last forward. */
  float loss();

  /**
   * A copy of a node's output for the current batch. Only values kept by the
   * {@link CompileOptions} can be read; others fail, naming the option that keeps them.
   */
  float[] value(Node node);

  /**
   * A copy of a node's gradient from the last backward, for its batch. The gradients of
   * parameters and of inputs that ask for theirs ({@link Input#requiresGrad()}: {@code dL/dx},
   * shaped as the input's batch) are always kept; others only by the {@link CompileOptions}.
   */
  float[] gradient(Node node);

  /**
   * Every parameter's gradient from the last backward, packed in {@link Graph#params()} order
   * with nothing between them: one transfer from a device. For data-parallel training, which
   * sums these across workers and writes them back with {@link #setGradients}.
   */
  float[] gradients();

  /**
   * As {@link #gradients()}, written into {@code packed}, which must hold every parameter's
   * gradient: a caller that sums the gradients every step allocates nothing.
   */
  default void gradients(float[] packed) {
    java.util.Objects.requireNonNull(packed, "packed");
    float[] g = gradients();
    SessionChecks.requireGradientArray(packed, g.length);
    System.arraycopy(g, 0, packed, 0, g.length);
  }

  /**
   * Replaces every parameter's gradient, packed as {@link #gradients()} gives them, between
   * {@link #backward()} and {@link #update()}: one transfer to a device. Values must be finite.
   */
  void setGradients(float[] packed);

  /** Replaces a parameter's values (for example from a checkpoint); they must be finite. */
  void setParam(Param param, float[] values);

  /** Replaces a state's values (for example from a checkpoint); they must be finite. */
  void setState(State state, float[] values);

  /** A copy of the optimizer's state for a parameter: one array per state slot. */
  float[][] optimizerState(Param param);

  /** Restores the optimizer's state for a parameter (for example from a checkpoint). */
  void setOptimizerState(Param param, float[][] state);

  /** Waits until all work enqueued so far has finished (for benchmarks; a step never needs it). */
  void sync();

  /** Counters of the work done; see {@link Stats}. */
  Stats stats();

  @Override
  void close();
}
