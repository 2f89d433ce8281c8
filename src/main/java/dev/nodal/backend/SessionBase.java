package dev.nodal.backend;

import static dev.nodal.backend.SessionChecks.requireNonNull;

import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;

/**
 * What every backend's session does alike, so that both backends serve and refuse the same
 * sequences: each public call enters the {@link ThreadGuard}, checks that the session is open and
 * sound, checks its arguments ({@link SessionChecks}) and its place in the call order
 * ({@link CallOrder}), runs the backend's part, and reports to the call order what ran. A failure
 * on the device trips the {@link FailureLatch}, after which the session refuses every call but
 * close(); with {@link CompileOptions#checkNumerics()} a {@link NumericsHunt} follows each pass.
 *
 * <p>A session serves one thread at a time: every public call but the plain getters enters it,
 * and a call from another thread while one is inside is refused with an
 * {@link IllegalStateException} naming the session and both threads. Between calls a session may
 * pass from one thread to another; entering and leaving order the memory of the two.
 */
public abstract class SessionBase implements Session {
  protected final Graph graph;
  protected final CompileOptions options;
  protected final int maxBatch;
  protected final Counters counters = new Counters();
  protected Optimizer optimizer;
  private final SessionChecks checks;
  private final CallOrder order;
  private final FailureLatch latch = new FailureLatch();
  private final ThreadGuard guard = new ThreadGuard(this);
  private final NumericsHunt numerics;
  /** Set by the backend that compiled this session, to forget it once closed. */
  Runnable onRelease = () -> {};
  /** How errors name this session; set by the backend that compiled it. */
  String label = "session";

  protected SessionBase(Graph graph, CompileOptions options) {
    this.graph = graph;
    this.options = options;
    this.maxBatch = options.maxBatch();
    this.checks = new SessionChecks(graph, options);
    this.order = new CallOrder(graph);
    this.numerics = new NumericsHunt(graph, this::readValue, this::readGradient);
  }

  @Override
  public final void setTraining(boolean training) {
    guard.enter("setTraining()");
    try {
      requireOpen();
      order.setTraining(training);
    } finally {
      guard.leave();
    }
  }

  @Override
  public final boolean training() {
    return order.training();
  }

  /** The step that random ops seed from: the optimizer's step count, 0 without one. */
  protected final long passStep() {
    return optimizer == null ? 0 : optimizer.step();
  }

  @Override
  public Graph graph() {
    return graph;
  }

  @Override
  public int maxBatch() {
    return maxBatch;
  }

  @Override
  public int batch() {
    return order.batch();
  }

  @Override
  public final Stats stats() {
    return counters.snapshot(programBuilds());
  }

  /** Programs built so far for this session's device (shared with other sessions there). */
  protected long programBuilds() {
    return 0;
  }

  @Override
  public final void setInput(Input input, float[] data) {
    guard.enter("setInput()");
    try {
      requireOpen();
      requireNonNull(input, "input");
      requireNonNull(data, "data");
      checks.requireOwn(input);
      order.settingInput(input);
      int n = SessionChecks.examples(input, data, maxBatch);
      SessionChecks.requireInputValues(input, data);
      order.inputSet(input, n);
      try {
        upload(input, data, n);
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
      order.changed("setInput(\"" + input.name() + "\")");
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void setLabels(Input labels, int[] indices) {
    guard.enter("setLabels()");
    try {
      requireOpen();
      requireNonNull(labels, "labels");
      requireNonNull(indices, "indices");
      checks.requireOwn(labels);
      order.settingInput(labels);
      setInput(labels, SessionChecks.labelValues(labels, indices));
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void forward() {
    guard.enter("forward()");
    try {
      requireOpen();
      int n = order.checkedBatch();
      try {
        runForward(n, order.training());
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
      order.forwardRan(n);
      if (options.checkNumerics()) numerics.afterForward(n);
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void backward() {
    backward(NOBODY);
  }

  /** Told of nothing: a plain backward. */
  protected static final GradientReady NOBODY = (p, array, offset) -> {};

  @Override
  public final void backward(GradientReady ready) {
    guard.enter("backward()");
    try {
      requireOpen();
      checks.requireLoss();
      requireNonNull(ready, "ready");
      int n = order.beforeBackward();
      try {
        runBackward(n, ready);
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
      order.backwardRan();
      if (options.checkNumerics()) numerics.afterBackward(n);
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void update() {
    guard.enter("update()");
    try {
      requireOpen();
      checks.requireLoss();
      CallOrder.requireOptimizer(optimizer);
      order.beforeUpdate();
      optimizer.beginStep();
      try {
        runUpdate();
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
      order.updateRan();
      if (options.checkNumerics()) numerics.afterUpdate(optimizer);
    } finally {
      guard.leave();
    }
  }

  @Override
  public final float loss() {
    guard.enter("loss()");
    try {
      requireOpen();
      checks.requireLoss();
      order.requireForward("loss()");
      try {
        return readLoss();
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
    } finally {
      guard.leave();
    }
  }

  /**
   * Inputs as last set, parameters as they are now, other nodes as the last forward left them
   * (for its batch, even when inputs of another batch have been set since).
   */
  @Override
  public final float[] value(Node node) {
    guard.enter("value()");
    try {
      requireOpen();
      requireNonNull(node, "node");
      checks.requireValue(node);
      int count = order.valueCount(node);
      try {
        return readValue(node, count); // trainers call this every step: no lambda here
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
    } finally {
      guard.leave();
    }
  }

  @Override
  public final float[] gradient(Node node) {
    guard.enter("gradient()");
    try {
      requireOpen();
      requireNonNull(node, "node");
      checks.requireGradient(node);
      int n = order.gradientBatch(node);
      try {
        return readGradient(node, node.shape().size(n));
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
    } finally {
      guard.leave();
    }
  }

  @Override
  public final float[] gradients() {
    float[] packed = new float[checks.packedGradientLength()];
    gradients(packed);
    return packed;
  }

  @Override
  public final void gradients(float[] packed) {
    guard.enter("gradients()");
    try {
      requireOpen();
      checks.requireLoss();
      order.requireBackward("gradients()");
      requireNonNull(packed, "packed gradients");
      SessionChecks.requireGradientArray(packed, checks.packedGradientLength());
      latch.run(() -> readGradients(packed));
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void setGradients(float[] packed) {
    guard.enter("setGradients()");
    try {
      requireOpen();
      checks.requireLoss();
      requireNonNull(packed, "packed gradients");
      order.beforeSetGradients();
      checks.requireGradients(packed);
      latch.run(() -> writeGradients(packed));
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void setParam(Param param, float[] values) {
    guard.enter("setParam()");
    try {
      requireOpen();
      requireNonNull(param, "param");
      requireNonNull(values, "values");
      checks.requireParamValues(param, values);
      SessionChecks.requireFinite(param, values);
      latch.run(() -> writeValue(param, values));
      order.changed("setParam(\"" + param.name() + "\")");
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void setState(State state, float[] values) {
    guard.enter("setState()");
    try {
      requireOpen();
      requireNonNull(state, "state");
      requireNonNull(values, "values");
      checks.requireStateValues(state, values);
      latch.run(() -> writeValue(state, values));
      order.changed("setState(\"" + state.name() + "\")");
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void close() {
    guard.enter("close()");
    try {
      if (!order.close()) return;
      release();
      onRelease.run();
    } finally {
      guard.leave();
    }
  }

  @Override
  public final Optimizer optimizer() {
    return optimizer;
  }

  @Override
  public final void setOptimizer(Optimizer optimizer) {
    guard.enter("setOptimizer()");
    try {
      requireOpen();
      requireNonNull(optimizer, "optimizer");
      try {
        installOptimizer(optimizer);
      } catch (RuntimeException e) {
        throw latch.trip(e);
      }
      this.optimizer = optimizer;
    } finally {
      guard.leave();
    }
  }

  @Override
  public final float trainStep() {
    guard.enter("trainStep()");
    try {
      return Session.super.trainStep();
    } finally {
      guard.leave();
    }
  }

  @Override
  public final float[][] optimizerState(Param param) {
    guard.enter("optimizerState()");
    try {
      requireOpen();
      CallOrder.requireOptimizer(optimizer);
      requireNonNull(param, "param");
      checks.requireOwn(param);
      return readOptimizerState(param, graph.params().indexOf(param));
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void setOptimizerState(Param param, float[][] state) {
    guard.enter("setOptimizerState()");
    try {
      requireOpen();
      CallOrder.requireOptimizer(optimizer);
      requireNonNull(param, "param");
      requireNonNull(state, "optimizer state");
      writeOptimizerState(param, checks.requireOptimizerState(param, state, optimizer), state);
    } finally {
      guard.leave();
    }
  }

  @Override
  public final void sync() {
    guard.enter("sync()");
    try {
      requireOpen();
      awaitDevice();
    } finally {
      guard.leave();
    }
  }

  /** How errors name this session: which one, on which backend. */
  @Override
  public String toString() {
    return label;
  }

  /** Every call but {@link #close()} refuses to run on a closed or failed session. */
  private void requireOpen() {
    order.requireOpen();
    latch.requireSound();
  }

  /** Copies a validated batch of {@code n} examples into the input's buffer. */
  protected abstract void upload(Input input, float[] data, int n);

  /** Computes every node for a batch of {@code n}, whose inputs are all set. */
  protected abstract void runForward(int n, boolean training);

  /** Seeds the loss with 1 and computes every needed gradient, after a forward of batch {@code n}. */
  protected abstract void runBackward(int n);

  /**
   * {@link #runBackward(int)}, telling {@code ready} (unless it is {@link #NOBODY}) of every
   * parameter once its gradient is final; by default after the whole pass, in parameter order.
   */
  protected void runBackward(int n, GradientReady ready) {
    runBackward(n);
    if (ready == NOBODY) return;
    if (told == null) told = new float[checks.packedGradientLength()];
    readGradients(told);
    ready.readyAll(graph, told);
  }

  /** The gradients that {@link #runBackward(int, GradientReady)} tells by default, read once per pass. */
  private float[] told;

  /** Applies the optimizer to every parameter from the gradients of the last backward. */
  protected abstract void runUpdate();

  /** The loss value of the last forward. */
  protected abstract float readLoss();

  /** The first {@code count} values of a node whose value is kept. */
  protected abstract float[] readValue(Node node, int count);

  /** The first {@code count} gradient values of a node whose gradient is kept. */
  protected abstract float[] readGradient(Node node, int count);

  /** Writes every parameter's gradient into {@code packed} (checked to fit), in parameter order. */
  protected abstract void readGradients(float[] packed);

  /** Replaces every parameter's gradient from a checked packed array. */
  protected abstract void writeGradients(float[] packed);

  /** Writes the values of a parameter or a state; they are checked already. */
  protected abstract void writeValue(Node node, float[] values);

  /** Frees what the session holds; called once, by the first {@link #close()}. */
  protected abstract void release();

  /** Allocates the optimizer's state, zeroed. */
  protected abstract void installOptimizer(Optimizer optimizer);

  /** A copy of the optimizer's state for the parameter at {@code index} in the graph's parameters. */
  protected abstract float[][] readOptimizerState(Param param, int index);

  /** Restores the optimizer's state for the parameter at {@code index}; the arrays are checked already. */
  protected abstract void writeOptimizerState(Param param, int index, float[][] state);

  /** Waits for the work enqueued so far; nothing to wait for where every call runs to its end. */
  protected void awaitDevice() {}
}
