package dev.nodal.dist;

import dev.nodal.backend.Session;
import dev.nodal.backend.SessionBase;
import dev.nodal.backend.Stats;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.optim.Optimizer;
import java.util.ArrayList;
import java.util.List;
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
 * <p>The replicas must compute alike to stay alike, so the devices must be of one kind (see
 * {@link DataParallelBackend}). A worker that fails closes its collective, so that the others
 * fail at once rather than at the timeout.
 */
public final class DataParallelSession implements Session {
  private final Graph graph;
  private final List<Session> replicas;
  private final List<Collective> collectives;
  private final ExecutorService threads;
  private final int maxBatch;
  /** Floats of every parameter's gradient, packed: what {@link Session#gradients()} returns. */
  private final int packedLength;
  private int batch;
  /** The split of the last setInput: rows per worker, where each worker's rows start. */
  private int[] rows, first;
  /** The split of the last forward, which loss, values, gradients and backward describe. */
  private int[] ranRows, ranFirst;
  private int ranBatch;
  private Optimizer optimizer;
  private final List<Optimizer> copies = new ArrayList<>();
  private boolean closed;

  /**
   * Joins compiled replicas of {@code graph} (the same graph and initial values, compiled for
   * up to {@code ceil(maxBatch / workers)} rows each) with one collective per replica, rank i
   * for replica i; the session owns and closes both.
   */
  public DataParallelSession(Graph graph, int maxBatch, List<Session> replicas, List<Collective> collectives) {
    if (replicas.isEmpty() || replicas.size() != collectives.size()) {
      throw new IllegalArgumentException(replicas.size() + " replicas and " + collectives.size() + " collectives");
    }
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
    this.packedLength = graph.params().stream().mapToInt(p -> p.shape().exampleSize()).sum();
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

  private interface Work {
    void run(int rank, Session s);
  }

  /** Runs {@code work} on every worker in parallel; rethrows the first failure. */
  private void onWorkers(Work work) {
    onWorkers(work, false);
  }

  /**
   * Runs {@code work} on every worker in parallel and rethrows the failure that came first. When
   * the work meets at the collective ({@code together}), a worker that fails closes its
   * collective so that the others fail at once rather than at the timeout; the session is then
   * spent.
   */
  private void onWorkers(Work work, boolean together) {
    requireOpen();
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
    for (Future<?> f : done) {
      try {
        f.get();
      } catch (ExecutionException e) {
        RuntimeException cause = e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        // The worker that failed first explains it; the others only report that it left.
        if (failure == null || failure instanceof CollectiveException && !(cause instanceof CollectiveException)) {
          failure = cause;
        }
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IllegalStateException("interrupted while the workers ran", e);
      }
    }
    if (failure != null) throw failure;
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
  public void setInput(Input input, float[] data) {
    requireOpen();
    int per = input.shape().exampleSize(), n = SessionBase.examples(input, data, maxBatch);
    int workers = replicas.size();
    int[] count = new int[workers], start = new int[workers];
    for (int r = 0, at = 0; r < workers; r++) {
      count[r] = n / workers + (r < n % workers ? 1 : 0);
      start[r] = at;
      at += count[r];
    }
    rows = null; // a refused input leaves no split behind
    onWorkers((r, s) -> s.setInput(input, count[r] == 0 ? java.util.Arrays.copyOf(data, per)
        : java.util.Arrays.copyOfRange(data, start[r] * per, (start[r] + count[r]) * per)));
    rows = count;
    first = start;
    batch = n;
  }

  @Override
  public void forward() {
    if (rows == null) throw new IllegalStateException("no batch yet: call setInput first");
    syncCopies(); // random ops seed from the step count
    onWorkers((r, s) -> s.forward());
    ranRows = rows;
    ranFirst = first;
    ranBatch = batch;
  }

  @Override
  public void setTraining(boolean training) {
    onWorkers((r, s) -> s.setTraining(training));
  }

  @Override
  public boolean training() {
    return replicas.get(0).training();
  }

  /**
   * Every worker's backward, then the gradients summed over the workers, each weighted by its
   * share of the batch; a worker without rows of its own adds zeros.
   */
  @Override
  public void backward() {
    requireForward();
    onWorkers((r, s) -> s.backward());
    onWorkers((r, s) -> {
      float[] g;
      if (ranRows[r] == 0) {
        g = new float[packedLength];
      } else {
        g = s.gradients();
        float share = (float) ranRows[r] / ranBatch;
        for (int i = 0; i < g.length; i++) g[i] *= share;
      }
      collectives.get(r).allReduceSum(g);
      s.setGradients(g);
    }, true);
  }


  /**
   * Each worker gets its own optimizer of the same spec (a session counts its steps in it), given
   * this one's schedule and step before every update.
   */
  @Override
  public void setOptimizer(Optimizer optimizer) {
    requireOpen();
    this.optimizer = optimizer;
    copies.clear();
    for (Session s : replicas) {
      Optimizer copy = optimizer.spec().make();
      copies.add(copy);
      s.setOptimizer(copy);
    }
    syncCopies();
  }

  /** The workers' optimizers take this one's schedule and step count. */
  private void syncCopies() {
    if (optimizer == null) return;
    for (Optimizer copy : copies) {
      if (optimizer.schedule() != null) copy.schedule(optimizer.schedule(), optimizer.totalSteps());
      copy.setStep(optimizer.step());
    }
  }

  @Override
  public Optimizer optimizer() {
    return optimizer;
  }

  @Override
  public void update() {
    if (optimizer == null) throw new IllegalStateException("update() needs an optimizer: call setOptimizer first");
    syncCopies();
    onWorkers((r, s) -> s.update());
    optimizer.setStep(copies.get(0).step());
    shareStates();
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

  /** The batch's mean loss: the workers' mean losses weighted by their shares, added in rank order. */
  @Override
  public float loss() {
    requireForward();
    float sum = 0;
    for (int r = 0; r < replicas.size(); r++) {
      if (ranRows[r] > 0) sum += (float) ranRows[r] / ranBatch * replicas.get(r).loss();
    }
    return sum;
  }

  /** A batch node's value: the workers' rows in order; anything else: worker 0's. */
  @Override
  public float[] value(Node node) {
    if (!node.shape().hasBatch()) return replicas.get(0).value(node);
    return gather(node, false);
  }

  /**
   * A parameter's gradient (summed over the workers by the last backward), or a batch node's:
   * the workers' rows, each scaled by its worker's share of the batch, so that they are the
   * gradients of the batch's mean loss.
   */
  @Override
  public float[] gradient(Node node) {
    if (!node.shape().hasBatch()) return replicas.get(0).gradient(node);
    return gather(node, true);
  }

  private float[] gather(Node node, boolean gradient) {
    requireForward();
    int per = node.shape().exampleSize();
    float[] out = new float[ranBatch * per];
    for (int r = 0; r < replicas.size(); r++) {
      if (ranRows[r] == 0) continue;
      float[] part = gradient ? replicas.get(r).gradient(node) : replicas.get(r).value(node);
      if (gradient) {
        float share = (float) ranRows[r] / ranBatch;
        for (int i = 0; i < part.length; i++) part[i] *= share;
      }
      System.arraycopy(part, 0, out, ranFirst[r] * per, ranRows[r] * per);
    }
    return out;
  }

  @Override
  public float[] gradients() {
    return replicas.get(0).gradients();
  }

  @Override
  public void setGradients(float[] packed) {
    onWorkers((r, s) -> s.setGradients(packed));
  }

  @Override
  public void setParam(Param param, float[] values) {
    onWorkers((r, s) -> s.setParam(param, values));
  }

  @Override
  public void setState(State state, float[] values) {
    onWorkers((r, s) -> s.setState(state, values));
  }

  @Override
  public float[][] optimizerState(Param param) {
    return replicas.get(0).optimizerState(param);
  }

  @Override
  public void setOptimizerState(Param param, float[][] state) {
    onWorkers((r, s) -> s.setOptimizerState(param, state));
  }

  @Override
  public void sync() {
    onWorkers((r, s) -> s.sync());
  }

  /** Worker 0's counters. */
  @Override
  public Stats stats() {
    return replicas.get(0).stats();
  }

  @Override
  public void close() {
    if (closed) return;
    closed = true;
    threads.shutdownNow();
    for (Session s : replicas) s.close();
    for (Collective c : collectives) c.close();
  }

  private void requireOpen() {
    if (closed) throw new IllegalStateException("the data-parallel session is closed");
  }

  private void requireForward() {
    requireOpen();
    if (ranRows == null) throw new IllegalStateException("no forward yet: call setInput and forward first");
  }
}
