package dev.nodal.parallel;

import static dev.nodal.backend.SessionChecks.requireNonNull;

import dev.nodal.backend.CallOrder;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.FailureLatch;
import dev.nodal.backend.NonFiniteException;
import dev.nodal.backend.Session;
import dev.nodal.backend.SessionChecks;
import dev.nodal.backend.Stats;
import dev.nodal.backend.ThreadGuard;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Schedule;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * One session over several replicas of a graph, one per worker, each on its own device and
 * thread: synchronous data parallelism. A batch is split by rows into contiguous slices, one per
 * worker in rank order (the first {@code N mod workers} slices one row longer). A worker whose
 * slice is empty runs the batch's first row, so that its session goes through the same calls, and
 * adds zeros to the sum. Each worker runs forward and backward on its slice; the
 * gradients, each weighted by its slice's share of the batch (the loss is a mean), are summed
 * over the workers by a {@link Collective}; then every worker applies the same update to the
 * same weights, so the replicas stay identical without weights ever being sent.
 *
 * <p>It behaves as one session over the whole batch: {@link #loss()} is the batch's mean loss,
 * {@link #value} of a batch node the workers' rows in order, and parameters, states and optimizer
 * state are the replicas' (which agree). A node without a batch dimension other than parameters
 * and states (a loss node's own value, say) reads worker 0's. Two differences from one device:
 * batch norm normalises each worker's slice with that slice's statistics, and its running
 * statistics are worker 0's, copied to every replica after each update; and dropout draws each
 * worker's mask from positions within its slice.
 *
 * <p>It follows the rules of every session, with the same classes and messages as a single
 * device's: the call order ({@link CallOrder}), the argument checks ({@link SessionChecks}), one
 * thread at a time ({@link ThreadGuard}), and no call after a failure ({@link FailureLatch}). A
 * failure of any replica fails the session, since the replicas may then be out of step; so does a
 * value found not finite ({@link CompileOptions#checkNumerics}) in backward or update, after which
 * the replicas' gradients or states may differ. A worker whose backward or sum fails closes its
 * collective, so that the others fail at once rather than at the timeout.
 *
 * <p>The replicas must compute alike to stay alike, so the devices must be of one kind (see
 * {@link DataParallelBackend}).
 */
public final class DataParallelSession implements Session {
  private final Graph graph;
  private final List<Session> replicas;
  private final List<Collective> collectives;
  private final ExecutorService threads;
  private final int maxBatch;
  /** Each worker's gradients, summed in buckets while its backward runs. */
  private final List<BucketedSum> sums;
  private final SessionChecks checks;
  private final CallOrder order;
  private final FailureLatch latch = new FailureLatch();
  private final ThreadGuard guard = new ThreadGuard(this);
  /** The rows of the last forward, which loss and values describe, and of the last backward, which gradients do. */
  private Split forwardSplit, backwardSplit;
  private Optimizer optimizer;
  private final List<Optimizer> copies = new ArrayList<>();

  /**
   * Joins compiled replicas of {@code graph} (the same graph and initial values, compiled with
   * {@code options} but for up to {@code ceil(options.maxBatch() / workers)} rows each) with one
   * collective per replica, rank i for replica i; the session owns and closes both.
   */
  public DataParallelSession(Graph graph, CompileOptions options, List<Session> replicas, List<Collective> collectives) {
    if (replicas.isEmpty() || replicas.size() != collectives.size()) {
      throw new IllegalArgumentException(replicas.size() + " replicas and " + collectives.size() + " collectives");
    }
    int maxBatch = options.maxBatch();
    for (int r = 0; r < replicas.size(); r++) {
      if (replicas.get(r).graph() != graph) throw new IllegalArgumentException("replica " + r + " runs another graph");
      if (collectives.get(r).rank() != r) throw new IllegalArgumentException("collective " + r + " has rank " + collectives.get(r).rank());
      if ((long) replicas.get(r).maxBatch() * replicas.size() < maxBatch) {
        throw new IllegalArgumentException("replica " + r + " takes " + replicas.get(r).maxBatch() + " rows; "
            + replicas.size() + " of them cannot hold a batch of " + maxBatch);
      }
    }
    this.graph = graph;
    this.maxBatch = maxBatch;
    this.checks = new SessionChecks(graph, options);
    this.order = new CallOrder(graph);
    List<BucketedSum> sums = new ArrayList<>();
    for (Collective c : collectives) sums.add(new BucketedSum(graph, c, 0, BucketedSum.BUCKET_FLOATS));
    this.sums = List.copyOf(sums);
    this.replicas = List.copyOf(replicas);
    this.collectives = List.copyOf(collectives);
    this.threads = Executors.newFixedThreadPool(replicas.size(), r -> {
      Thread t = new Thread(r, "nodal-worker");
      t.setDaemon(true);
      return t;
    });
  }

  /** The workers' sessions, rank by rank (for tests and tools; a step drives them itself). */
  public List<Session> replicas() {
    return replicas;
  }

  /** How a batch of {@code batch} rows is split: rows per worker and where each worker's rows start. */
  private record Split(int batch, int[] rows, int[] first) {
    static Split of(int batch, int workers) {
      int[] rows = new int[workers], first = new int[workers];
      for (int r = 0, at = 0; r < workers; r++) {
        rows[r] = batch / workers + (r < batch % workers ? 1 : 0);
        first[r] = at;
        at += rows[r];
      }
      return new Split(batch, rows, first);
    }

    /** Worker {@code r}'s share of the batch. */
    float share(int r) {
      return (float) rows[r] / batch;
    }
  }

  private interface Work {
    void run(int rank, Session s);
  }

  /** Runs {@code work} on every worker in parallel; rethrows the first failure. */
  private void onWorkers(Work work) {
    onWorkers(work, false);
  }

  /**
   * Runs {@code work} on every worker in parallel and rethrows the failure that came first,
   * having tripped the latch unless every failure was a refusal. When the work meets at the collective
   * ({@code together}), a worker that fails closes its collective so that the others fail at once
   * rather than at the timeout; the session is then spent, whatever the failure.
   */
  private void onWorkers(Work work, boolean together) {
    List<Future<?>> done = new ArrayList<>();
    for (int r = 0; r < replicas.size(); r++) {
      int rank = r;
      done.add(threads.submit(() -> {
        try {
          work.run(rank, replicas.get(rank));
        } catch (RuntimeException | Error e) {
          if (together) collectives.get(rank).close();
          throw e;
        }
      }));
    }
    RuntimeException failure = null;
    boolean refusals = true;
    for (Future<?> f : done) {
      try {
        f.get();
      } catch (ExecutionException e) {
        RuntimeException cause = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        refusals &= cause instanceof GraphException;
        // The worker that failed first explains it; the others only report that it left.
        if (failure == null || failure instanceof CollectiveException && !(cause instanceof CollectiveException)) {
          failure = cause;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw latch.tripAlways(new IllegalStateException("interrupted while the workers ran", e));
      }
    }
    if (failure != null) throw together || !refusals ? latch.tripAlways(failure) : failure;
  }

  /**
   * Runs a pass on every worker; returns a value found not finite there (the pass ran on every
   * worker all the same), or null. {@code together} as for {@link #onWorkers(Work, boolean)}.
   */
  private NonFiniteException pass(Work work, boolean together) {
    try {
      onWorkers(work, together);
      return null;
    } catch (NonFiniteException e) {
      return e;
    }
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
  public void setInput(Input input, float[] data) {
    guard.enter("setInput()");
    try {
      requireOpen();
      requireNonNull(input, "input");
      requireNonNull(data, "data");
      checks.requireOwn(input);
      order.settingInput(input);
      int n = SessionChecks.examples(input, data, maxBatch), per = input.shape().exampleSize();
      SessionChecks.requireInputValues(input, data);
      Split split = Split.of(n, replicas.size());
      onWorkers((r, s) -> s.setInput(input, split.rows[r] == 0 ? Arrays.copyOf(data, per)
          : Arrays.copyOfRange(data, split.first[r] * per, (split.first[r] + split.rows[r]) * per)));
      order.inputSet(input, n);
      order.changed("setInput(\"" + input.name() + "\")");
    } finally {
      guard.leave();
    }
  }

  @Override
  public void setLabels(Input labels, int[] indices) {
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
  public void forward() {
    guard.enter("forward()");
    try {
      requireOpen();
      int n = order.checkedBatch();
      syncCopies(); // random ops seed from the step count
      NonFiniteException found = pass((r, s) -> s.forward(), false);
      order.forwardRan(n);
      forwardSplit = Split.of(n, replicas.size());
      if (found != null) throw found;
    } finally {
      guard.leave();
    }
  }

  @Override
  public void setTraining(boolean training) {
    guard.enter("setTraining()");
    try {
      requireOpen();
      onWorkers((r, s) -> s.setTraining(training));
      order.setTraining(training);
    } finally {
      guard.leave();
    }
  }

  @Override
  public boolean training() {
    return order.training();
  }

  /**
   * Every worker's backward, its gradients summed over the workers as the backward finishes them
   * ({@link BucketedSum}), each weighted by its share of the batch; a worker without rows of its
   * own adds zeros.
   */
  @Override
  public void backward() {
    guard.enter("backward()");
    try {
      requireOpen();
      checks.requireLoss();
      order.beforeBackward();
      Split split = forwardSplit;
      NonFiniteException found = pass((r, s) -> sums.get(r).backward(s, split.share(r), split.rows[r] == 0), true);
      if (found != null) throw latch.tripAlways(found); // the gradients can no longer be summed alike
      onWorkers((r, s) -> s.setGradients(sums.get(r).packed()), true);
      order.backwardRan();
      backwardSplit = split;
    } finally {
      guard.leave();
    }
  }

  /**
   * Each worker gets its own optimizer of the same spec (a session counts its steps in it), given
   * this one's schedule and step before every update.
   */
  @Override
  public void setOptimizer(Optimizer optimizer) {
    guard.enter("setOptimizer()");
    try {
      requireOpen();
      requireNonNull(optimizer, "optimizer");
      List<Optimizer> made = new ArrayList<>();
      for (int r = 0; r < replicas.size(); r++) made.add(optimizer.spec().make());
      latch.run(() -> {
        for (int r = 0; r < replicas.size(); r++) replicas.get(r).setOptimizer(made.get(r));
      });
      this.optimizer = optimizer;
      copies.clear();
      copies.addAll(made);
      syncCopies();
    } finally {
      guard.leave();
    }
  }

  /**
   * The workers' optimizers take this one's step count, and its schedule when it was attached or
   * changed since the last pass (attaching computes a rate, which setStep computes again).
   */
  private void syncCopies() {
    if (optimizer == null) return;
    Schedule schedule = optimizer.schedule();
    for (Optimizer copy : copies) {
      if (schedule != null && (copy.schedule() != schedule || copy.totalSteps() != optimizer.totalSteps())) {
        copy.schedule(schedule, optimizer.totalSteps());
      }
      copy.setStep(optimizer.step());
    }
  }

  @Override
  public Optimizer optimizer() {
    return optimizer;
  }

  @Override
  public void update() {
    guard.enter("update()");
    try {
      requireOpen();
      checks.requireLoss();
      CallOrder.requireOptimizer(optimizer);
      order.beforeUpdate();
      syncCopies();
      NonFiniteException found = pass((r, s) -> s.update(), false);
      if (found != null) throw latch.tripAlways(found); // the states can no longer be shared alike
      order.updateRan();
      optimizer.setStep(copies.get(0).step());
      shareStates();
    } finally {
      guard.leave();
    }
  }

  /**
   * Every state (batch norm's running statistics) as worker 0 computed it, on every replica: the
   * other workers updated theirs from their own slices.
   */
  private void shareStates() {
    if (graph.states().isEmpty() || replicas.size() == 1) return;
    onWorkers((r, s) -> {
      for (State state : graph.states()) {
        float[] v = r == 0 ? s.value(state) : new float[state.shape().exampleSize()];
        collectives.get(r).broadcast(v, 0, v.length, 0);
        if (r != 0) s.setState(state, v);
      }
    }, true);
  }

  @Override
  public float trainStep() {
    guard.enter("trainStep()");
    try {
      return Session.super.trainStep();
    } finally {
      guard.leave();
    }
  }

  /** The batch's mean loss: the workers' mean losses weighted by their shares, added in rank order. */
  @Override
  public float loss() {
    guard.enter("loss()");
    try {
      requireOpen();
      checks.requireLoss();
      order.requireForward("loss()");
      Split split = forwardSplit;
      return latch.call(() -> {
        float sum = 0;
        for (int r = 0; r < replicas.size(); r++) {
          if (split.rows[r] > 0) sum += split.share(r) * replicas.get(r).loss();
        }
        return sum;
      });
    } finally {
      guard.leave();
    }
  }

  /**
   * An input's rows as last set, or a batch node's as the last forward left them: the workers'
   * rows in order; anything else: worker 0's.
   */
  @Override
  public float[] value(Node node) {
    guard.enter("value()");
    try {
      requireOpen();
      requireNonNull(node, "node");
      checks.requireValue(node);
      int count = order.valueCount(node);
      if (!node.shape().hasBatch()) return latch.call(() -> replicas.get(0).value(node));
      return gather(node, node instanceof Input ? Split.of(count / node.shape().exampleSize(), replicas.size())
          : forwardSplit, false);
    } finally {
      guard.leave();
    }
  }

  /**
   * A parameter's gradient (summed over the workers by the last backward), or a batch node's:
   * the workers' rows, each scaled by its worker's share of the batch, so that they are the
   * gradients of the batch's mean loss.
   */
  @Override
  public float[] gradient(Node node) {
    guard.enter("gradient()");
    try {
      requireOpen();
      requireNonNull(node, "node");
      checks.requireGradient(node);
      order.gradientBatch(node);
      if (!node.shape().hasBatch()) return latch.call(() -> replicas.get(0).gradient(node));
      return gather(node, backwardSplit, true);
    } finally {
      guard.leave();
    }
  }

  /** The workers' rows of {@code node}'s value or gradient, split as {@code split}, in one array. */
  private float[] gather(Node node, Split split, boolean gradient) {
    return latch.call(() -> {
      int per = node.shape().exampleSize();
      float[] out = new float[split.batch * per];
      for (int r = 0; r < replicas.size(); r++) {
        if (split.rows[r] == 0) continue;
        float[] part = gradient ? replicas.get(r).gradient(node) : replicas.get(r).value(node);
        if (gradient) {
          float share = split.share(r);
          for (int i = 0; i < part.length; i++) part[i] *= share;
        }
        System.arraycopy(part, 0, out, split.first[r] * per, split.rows[r] * per);
      }
      return out;
    });
  }

  @Override
  public float[] gradients() {
    float[] packed = new float[checks.packedGradientLength()];
    gradients(packed);
    return packed;
  }

  @Override
  public void gradients(float[] packed) {
    guard.enter("gradients()");
    try {
      requireOpen();
      checks.requireLoss();
      order.requireBackward("gradients()");
      requireNonNull(packed, "packed gradients");
      SessionChecks.requireGradientArray(packed, checks.packedGradientLength());
      latch.run(() -> replicas.get(0).gradients(packed));
    } finally {
      guard.leave();
    }
  }

  @Override
  public void setGradients(float[] packed) {
    guard.enter("setGradients()");
    try {
      requireOpen();
      checks.requireLoss();
      requireNonNull(packed, "packed gradients");
      order.beforeSetGradients();
      checks.requireGradients(packed);
      onWorkers((r, s) -> s.setGradients(packed));
    } finally {
      guard.leave();
    }
  }

  @Override
  public void setParam(Param param, float[] values) {
    guard.enter("setParam()");
    try {
      requireOpen();
      requireNonNull(param, "param");
      requireNonNull(values, "values");
      checks.requireParamValues(param, values);
      SessionChecks.requireFinite(param, values);
      onWorkers((r, s) -> s.setParam(param, values));
      order.changed("setParam(\"" + param.name() + "\")");
    } finally {
      guard.leave();
    }
  }

  @Override
  public void setState(State state, float[] values) {
    guard.enter("setState()");
    try {
      requireOpen();
      requireNonNull(state, "state");
      requireNonNull(values, "values");
      checks.requireStateValues(state, values);
      onWorkers((r, s) -> s.setState(state, values));
      order.changed("setState(\"" + state.name() + "\")");
    } finally {
      guard.leave();
    }
  }

  @Override
  public float[][] optimizerState(Param param) {
    guard.enter("optimizerState()");
    try {
      requireOpen();
      CallOrder.requireOptimizer(optimizer);
      requireNonNull(param, "param");
      checks.requireOwn(param);
      return latch.call(() -> replicas.get(0).optimizerState(param));
    } finally {
      guard.leave();
    }
  }

  @Override
  public void setOptimizerState(Param param, float[][] state) {
    guard.enter("setOptimizerState()");
    try {
      requireOpen();
      CallOrder.requireOptimizer(optimizer);
      requireNonNull(param, "param");
      requireNonNull(state, "optimizer state");
      checks.requireOptimizerState(param, state, optimizer);
      onWorkers((r, s) -> s.setOptimizerState(param, state));
    } finally {
      guard.leave();
    }
  }

  @Override
  public void sync() {
    guard.enter("sync()");
    try {
      requireOpen();
      onWorkers((r, s) -> s.sync());
    } finally {
      guard.leave();
    }
  }

  /** Worker 0's counters. */
  @Override
  public Stats stats() {
    return replicas.get(0).stats();
  }

  /**
   * Closes every replica and every collective, even when some fail to close; then rethrows the
   * first failure, with the others suppressed. A second call does nothing.
   */
  @Override
  public void close() {
    guard.enter("close()");
    try {
      if (!order.close()) return;
      threads.shutdownNow();
      for (BucketedSum b : sums) b.close();
      RuntimeException failure = null;
      for (Session s : replicas) failure = closing(s::close, failure);
      for (Collective c : collectives) failure = closing(c::close, failure);
      if (failure != null) throw failure;
    } finally {
      guard.leave();
    }
  }

  /** Runs {@code close}; returns the first failure so far, with this one's suppressed in it. */
  private static RuntimeException closing(Runnable close, RuntimeException failure) {
    try {
      close.run();
    } catch (RuntimeException e) {
      if (failure == null) return e;
      failure.addSuppressed(e);
    }
    return failure;
  }

  /** How errors name this session: its replicas. */
  @Override
  public String toString() {
    return "data-parallel session over " + replicas;
  }

  /** Every call but {@link #close()} refuses to run on a closed or failed session. */
  private void requireOpen() {
    order.requireOpen();
    latch.requireSound();
  }
}
