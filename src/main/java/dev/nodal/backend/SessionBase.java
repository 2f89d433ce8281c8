package dev.nodal.backend;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What every backend's session does alike: argument checks, the batch bookkeeping and the
 * call-order rules of {@link Session}, so that both backends serve and refuse the same sequences.
 *
 * <p>The rules exist because a device session reuses memory: the backward pass writes gradients
 * into buffers that held forward values, and values are sized for the batch they were computed
 * at. So the session tracks which forward and backward results are intact.
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
  private int batch;
  private final int[] inputBatch;
  private boolean closed;
  /** Why a pass failed on the device, after which the session's buffers cannot be trusted; or null. */
  private String failed;
  /** Batch of the last forward (0 for a graph without inputs); -1 before the first. */
  private int forwardBatch = -1;
  /** Why backward() cannot use the last forward's values, or null when it can. */
  private String forwardSpent = "no forward() has run";
  /** Batch of the last backward; -1 before the first. */
  private int backwardBatch = -1;
  /** True from a backward() until the update() that applies its gradients. */
  private boolean gradientsPending;
  /** The mode of the next forward: training by default when the graph has a loss. */
  private boolean training;
  /** The mode of the last forward. */
  private boolean forwardTraining;
  /** Set by the backend that compiled this session, to forget it once closed. */
  Runnable onRelease = () -> {};
  /** How errors name this session; set by the backend that compiled it. */
  String label = "session";
  /** The thread inside a call of this session, or null between calls. */
  private final AtomicReference<Thread> user = new AtomicReference<>();
  /** How deep the user thread is in calls of this session (trainStep() calls forward() and so on). */
  private int depth;

  protected SessionBase(Graph graph, CompileOptions options) {
    this.graph = graph;
    this.options = options;
    this.maxBatch = options.maxBatch();
    for (String name : options.keep()) graph.node(name);
    this.inputBatch = new int[graph.inputs().size()];
    this.training = graph.loss() != null;
  }

  @Override
  public final void setTraining(boolean training) {
    enter("setTraining()");
    try {
      requireOpen();
      this.training = training;
    } finally {
      leave();
    }
  }

  @Override
  public final boolean training() {
    return training;
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
    return batch;
  }

  @Override
  public final Stats stats() {
    return counters.snapshot(programBuilds());
  }

  /** Programs built so far for this session's device (shared with other sessions there). */
  protected long programBuilds() {
    return 0;
  }

  /**
   * How many examples {@code data} holds for {@code input}: refused, naming the input, when it is
   * empty, not a whole number of examples, or more than {@code maxBatch} of them.
   */
  public static int examples(Input input, float[] data, int maxBatch) {
    int per = input.shape().exampleSize();
    if (data.length == 0 || data.length % per != 0) {
      throw new GraphException(input.kind() + " '" + input.name() + "': " + data.length
          + " values are not a whole number of examples of " + per);
    }
    int n = data.length / per;
    if (n > maxBatch) {
      throw new GraphException(input.kind() + " '" + input.name() + "': batch of " + n
          + " exceeds the session's maximum of " + maxBatch);
    }
    return n;
  }

  @Override
  public final void setInput(Input input, float[] data) {
    enter("setInput()");
    try {
      requireOpen();
      requireNonNull(input, "input");
      requireNonNull(data, "data");
      requireOwn(input);
      inputBatch[graph.inputs().indexOf(input)] = 0; // whatever is refused below, the old batch is stale now
      int n = examples(input, data, maxBatch);
      checkValues(input, data);
      inputBatch[graph.inputs().indexOf(input)] = n;
      batch = n;
      try {
        upload(input, data, n);
      } catch (RuntimeException e) {
        throw failed(e);
      }
      if (forwardSpent == null) forwardSpent = "setInput(\"" + input.name() + "\") was called after it";
    } finally {
      leave();
    }
  }

  @Override
  public final void forward() {
    enter("forward()");
    try {
      requireOpen();
      int n = checkedBatch();
      try {
        runForward(n, training);
      } catch (RuntimeException e) {
        throw failed(e);
      }
      forwardBatch = n;
      forwardTraining = training;
      forwardSpent = null;
      if (options.checkNumerics()) checkForward(n);
    } finally {
      leave();
    }
  }

  /** In forward order, the first node whose output is not finite produced it: its inputs were finite. */
  private void checkForward(int n) {
    for (Node node : graph.nodes()) {
      if (!(node instanceof Apply a)) continue;
      int at = firstNonFinite(readValue(node, node.shape().size(n)));
      if (at >= 0) {
        throw new NonFiniteException("forward", node.name(), "forward: " + node.kind() + " '" + node.name() + "' produced "
            + readValue(node, node.shape().size(n))[at] + " at element " + at + " from finite inputs "
            + a.inputs().stream().map(i -> "'" + i.name() + "'").toList());
      }
    }
  }

  /**
   * In backward order, the first node whose gradient is not finite: the backward of one of its
   * consumers wrote it, from finite gradients.
   */
  private void checkBackward(int n) {
    List<Node> nodes = graph.nodes();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      Node node = nodes.get(i);
      if (!graph.needsGradient(node)) continue;
      float[] g = readGradient(node, node.shape().size(n));
      int at = firstNonFinite(g);
      if (at >= 0) {
        throw new NonFiniteException("backward", node.name(), "backward: the gradient of " + node.kind() + " '"
            + node.name() + "' is " + g[at] + " at element " + at + ", written by the backward of "
            + graph.consumers(node).stream().map(c -> c.kind() + " '" + c.name() + "'").toList());
      }
    }
  }

  private void checkUpdate() {
    for (Param p : graph.params()) {
      float[] v = readValue(p, p.shape().exampleSize());
      int at = firstNonFinite(v);
      if (at >= 0) {
        throw new NonFiniteException("update", p.name(), "update: " + optimizer.name() + " made param '" + p.name()
            + "' " + v[at] + " at element " + at + " (a smaller learning rate, or clip_norm, may help)");
      }
    }
  }

  private static int firstNonFinite(float[] v) {
    for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) return i;
    return -1;
  }

  @Override
  public final void backward() {
    enter("backward()");
    try {
      requireOpen();
      requireLoss();
      if (forwardSpent != null) {
        throw new IllegalStateException("backward() needs a forward() first: " + forwardSpent);
      }
      if (!forwardTraining) {
        throw new IllegalStateException("backward() needs a forward() in training mode; the last ran in evaluation mode "
            + "(setTraining(true), then forward() again)");
      }
      try {
        runBackward(forwardBatch);
      } catch (RuntimeException e) {
        throw failed(e);
      }
      backwardBatch = forwardBatch;
      gradientsPending = true;
      forwardSpent = "the last backward() reused the memory of its values; call forward() again";
      if (options.checkNumerics()) checkBackward(backwardBatch);
    } finally {
      leave();
    }
  }

  @Override
  public final void update() {
    enter("update()");
    try {
      requireOpen();
      requireLoss();
      requireOptimizer();
      if (!gradientsPending) {
        throw new IllegalStateException("update() needs a backward() first: " + (backwardBatch < 0
            ? "no backward() has run" : "the gradients of the last backward() were applied already"));
      }
      optimizer.beginStep();
      try {
        runUpdate();
      } catch (RuntimeException e) {
        throw failed(e);
      }
      gradientsPending = false;
      if (options.checkNumerics()) checkUpdate();
    } finally {
      leave();
    }
  }

  @Override
  public final float loss() {
    enter("loss()");
    try {
      requireOpen();
      requireLoss();
      if (forwardBatch < 0) throw new IllegalStateException("loss() needs a forward() first");
      try {
        return readLoss();
      } catch (RuntimeException e) {
        throw failed(e);
      }
    } finally {
      leave();
    }
  }

  /**
   * Inputs as last set, parameters as they are now, other nodes as the last forward left them
   * (for its batch, even when inputs of another batch have been set since).
   */
  @Override
  public final float[] value(Node node) {
    enter("value()");
    try {
      requireOpen();
      requireNonNull(node, "node");
      requireValue(node);
      int count;
      if (node instanceof Param || node instanceof State) {
        count = node.shape().exampleSize();
      } else if (node instanceof Input in) {
        int n = inputBatch[graph.inputs().indexOf(in)];
        if (n == 0) throw new IllegalStateException("value(" + in.kind() + " '" + in.name() + "') needs setInput first");
        count = node.shape().size(n);
      } else if (forwardBatch < 0) {
        throw new IllegalStateException("value(" + node.kind() + " '" + node.name() + "') needs a forward() first");
      } else {
        count = node.shape().size(forwardBatch);
      }
      try {
        return readValue(node, count); // trainers call this every step: no lambda here
      } catch (RuntimeException e) {
        throw failed(e);
      }
    } finally {
      leave();
    }
  }


  @Override
  public final float[] gradient(Node node) {
    enter("gradient()");
    try {
      requireOpen();
      requireNonNull(node, "node");
      requireGradient(node);
      if (backwardBatch < 0) {
        throw new IllegalStateException("gradient(" + node.kind() + " '" + node.name() + "') needs a backward() first");
      }
      try {
        return readGradient(node, node.shape().size(backwardBatch));
      } catch (RuntimeException e) {
        throw failed(e);
      }
    } finally {
      leave();
    }
  }

  @Override
  public final float[] gradients() {
    enter("gradients()");
    try {
      requireOpen();
      requireLoss();
      if (backwardBatch < 0) throw new IllegalStateException("gradients() needs a backward() first");
      return device(this::readGradients);
    } finally {
      leave();
    }
  }

  @Override
  public final void setGradients(float[] packed) {
    enter("setGradients()");
    try {
      requireOpen();
      requireLoss();
      requireNonNull(packed, "packed gradients");
      if (!gradientsPending) {
        throw new IllegalStateException("setGradients() belongs between backward() and update(): " + (backwardBatch < 0
            ? "no backward() has run" : "the gradients of the last backward() were applied already"));
      }
      int total = graph.params().stream().mapToInt(p -> p.shape().exampleSize()).sum();
      if (packed.length != total) {
        throw new GraphException("setGradients: " + packed.length + " values given, the parameters hold " + total);
      }
      for (int i = 0; i < packed.length; i++) {
        if (!Float.isFinite(packed[i])) throw new GraphException("setGradients: value " + packed[i] + " at " + i + " is not finite");
      }
      device(() -> {
        writeGradients(packed);
        return null;
      });
    } finally {
      leave();
    }
  }

  /** Refuses a non-finite value for {@code node}, naming it and the element. */
  private static void requireFinite(Node node, float[] values) {
    for (int i = 0; i < values.length; i++) {
      if (!Float.isFinite(values[i])) {
        throw new GraphException(node.kind() + " '" + node.name() + "': value " + values[i] + " at element " + i
            + " is not finite");
      }
    }
  }

  @Override
  public final void setParam(Param param, float[] values) {
    enter("setParam()");
    try {
      requireOpen();
      requireNonNull(param, "param");
      requireNonNull(values, "values");
      checkParamValues(param, values);
      requireFinite(param, values);
      device(() -> {
        writeValue(param, values);
        return null;
      });
      if (forwardSpent == null) forwardSpent = "setParam(\"" + param.name() + "\") was called after it";
    } finally {
      leave();
    }
  }

  @Override
  public final void setState(State state, float[] values) {
    enter("setState()");
    try {
      requireOpen();
      requireNonNull(state, "state");
      requireNonNull(values, "values");
      requireOwn(state);
      if (values.length != state.shape().exampleSize()) {
        throw new GraphException("state '" + state.name() + "': " + values.length + " values given, shape "
            + state.shape() + " holds " + state.shape().exampleSize());
      }
      requireFinite(state, values);
      device(() -> {
        writeValue(state, values);
        return null;
      });
      if (forwardSpent == null) forwardSpent = "setState(\"" + state.name() + "\") was called after it";
    } finally {
      leave();
    }
  }

  @Override
  public final void close() {
    enter("close()");
    try {
      if (closed) return;
      closed = true;
      release();
      onRelease.run();
    } finally {
      leave();
    }
  }

  /** Every method but {@link #close()} refuses to run on a closed or failed session. */
  protected final void requireOpen() {
    if (closed) throw new IllegalStateException("this session is closed");
    if (failed != null) {
      throw new IllegalStateException("this session failed (" + failed + "); close it and compile the graph again");
    }
  }

  /** A read or write of device memory outside the passes: a failure marks the session failed too. */
  private <T> T device(java.util.function.Supplier<T> call) {
    try {
      return call.get();
    } catch (RuntimeException e) {
      throw failed(e);
    }
  }

  /** A pass that threw marks the session failed, since its buffers are then unknown; returns {@code e}. */
  private RuntimeException failed(RuntimeException e) {
    if (!(e instanceof GraphException)) failed = String.valueOf(e.getMessage());
    return e;
  }

  private static void requireNonNull(Object value, String name) {
    if (value == null) throw new IllegalArgumentException(name + " is null");
  }

  private static void checkValues(Input input, float[] data) {
    int classes = input.classes();
    for (int i = 0; i < data.length; i++) {
      float v = data[i];
      if (classes > 0 ? !(v >= 0 && v < classes && v == Math.rint(v)) : !Float.isFinite(v)) {
        throw new GraphException(input.kind() + " '" + input.name() + "': value " + v + " at element " + i
            + (classes > 0 ? " is not a class index in [0, " + classes + ")" : " is not finite"));
      }
    }
  }

  /** Checks that every input holds a batch of the same size; returns that size. */
  protected final int checkedBatch() {
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

  @Override
  public final Optimizer optimizer() {
    return optimizer;
  }

  @Override
  public final void setOptimizer(Optimizer optimizer) {
    enter("setOptimizer()");
    try {
      requireOpen();
      requireNonNull(optimizer, "optimizer");
      try {
        installOptimizer(optimizer);
      } catch (RuntimeException e) {
        throw failed(e);
      }
      this.optimizer = optimizer;
    } finally {
      leave();
    }
  }

  protected final void requireOptimizer() {
    if (optimizer == null) throw new IllegalStateException("no optimizer: call setOptimizer before update");
  }

  protected final void requireLoss() {
    if (graph.loss() == null) throw new GraphException("this graph has no loss: build it with GraphBuilder.build(loss)");
  }

  protected final void requireOwn(Node node) {
    if (!graph.hasNode(node.name()) || graph.node(node.name()) != node) {
      throw new GraphException(node.kind() + " '" + node.name() + "' is not a node of this session's graph");
    }
  }

  /** True when the node's value survives a step: see {@link CompileOptions}. */
  protected final boolean isValueKept(Node node) {
    return options.keepRule().value(graph, node);
  }

  /** True when the node's gradient survives a step. */
  protected final boolean isGradientKept(Node node) {
    return options.keepRule().gradient(graph, node);
  }

  protected final void requireValue(Node node) {
    requireOwn(node);
    if (!isValueKept(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "': its value is not kept after a step (its memory is "
          + "reused); compile with CompileOptions.keep(\"" + node.name() + "\") or keepAll()");
    }
  }

  protected final void requireGradient(Node node) {
    requireOwn(node);
    if (!graph.needsGradient(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "' has no gradient: it is not on a path from a parameter to the loss");
    }
    if (!isGradientKept(node)) {
      throw new GraphException(node.kind() + " '" + node.name() + "': its gradient is not kept after a step; compile with "
          + "CompileOptions.keep(\"" + node.name() + "\") or keepAll()");
    }
  }

  protected final void checkParamValues(Param param, float[] values) {
    requireOwn(param);
    if (values.length != param.shape().exampleSize()) {
      throw new GraphException("param '" + param.name() + "': " + values.length + " values given, shape "
          + param.shape() + " holds " + param.shape().exampleSize());
    }
  }

  /** Checks a state given for {@link #setOptimizerState}; returns the parameter's index. */
  private int checkOptimizerState(Param param, float[][] state) {
    requireOpen();
    requireOptimizer();
    requireNonNull(param, "param");
    requireNonNull(state, "optimizer state");
    requireOwn(param);
    if (state.length != optimizer.stateSlots()) {
      throw new GraphException("param '" + param.name() + "': " + state.length + " optimizer state arrays given, "
          + optimizer.name() + " keeps " + optimizer.stateSlots());
    }
    for (float[] s : state) checkParamValues(param, s);
    return graph.params().indexOf(param);
  }

  @Override
  public final float trainStep() {
    enter("trainStep()");
    try {
      return Session.super.trainStep();
    } finally {
      leave();
    }
  }

  @Override
  public final float[][] optimizerState(Param param) {
    enter("optimizerState()");
    try {
      requireOpen();
      requireOptimizer();
      requireNonNull(param, "param");
      requireOwn(param);
      return readOptimizerState(param, graph.params().indexOf(param));
    } finally {
      leave();
    }
  }

  @Override
  public final void setOptimizerState(Param param, float[][] state) {
    enter("setOptimizerState()");
    try {
      writeOptimizerState(param, checkOptimizerState(param, state), state);
    } finally {
      leave();
    }
  }

  @Override
  public final void sync() {
    enter("sync()");
    try {
      requireOpen();
      awaitDevice();
    } finally {
      leave();
    }
  }

  /** How errors name this session: which one, on which backend. */
  @Override
  public String toString() {
    return label;
  }

  /**
   * The calling thread enters a call of this session: refused, naming the session and both
   * threads, while another thread is inside one. Calls nest (trainStep() calls forward()).
   */
  private void enter(String call) {
    Thread me = Thread.currentThread();
    while (true) {
      Thread in = user.get();
      if (in == me) {
        depth++;
        return;
      }
      if (in == null) {
        if (user.compareAndSet(null, me)) {
          depth = 1;
          return;
        }
        continue; // another thread entered just now: name it
      }
      throw new IllegalStateException(label + " is in use by thread " + describe(in) + ", so " + call + " from thread "
          + describe(me) + " is refused: a session serves one thread at a time (pass it to another thread between "
          + "calls, or give each thread a session of its own)");
    }
  }

  /** The calling thread leaves the call it entered; the outermost leave frees the session for any thread. */
  private void leave() {
    if (--depth == 0) user.set(null);
  }

  private static String describe(Thread t) {
    return "'" + t.getName() + "' (id " + t.getId() + ")";
  }

  /** Copies a validated batch of {@code n} examples into the input's buffer. */
  protected abstract void upload(Input input, float[] data, int n);

  /** Computes every node for a batch of {@code n}, whose inputs are all set. */
  protected abstract void runForward(int n, boolean training);

  /** Seeds the loss with 1 and computes every needed gradient, after a forward of batch {@code n}. */
  protected abstract void runBackward(int n);

  /** Applies the optimizer to every parameter from the gradients of the last backward. */
  protected abstract void runUpdate();

  /** The loss value of the last forward. */
  protected abstract float readLoss();

  /** The first {@code count} values of a node whose value is kept. */
  protected abstract float[] readValue(Node node, int count);

  /** The first {@code count} gradient values of a node whose gradient is kept. */
  protected abstract float[] readGradient(Node node, int count);

  /** Every parameter's gradient, packed in parameter order. */
  protected abstract float[] readGradients();

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
