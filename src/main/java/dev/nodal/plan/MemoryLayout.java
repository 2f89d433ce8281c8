package dev.nodal.plan;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.plan.StepPlan.Buffer;
import dev.nodal.plan.StepPlan.Region;
import dev.nodal.tensor.Shape;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The memory of a {@link StepPlan}: a buffer per value, gradient, workspace and scratch of every
 * node, sized for the largest batch; parameters, their gradients and optimizer state in flat,
 * aligned blocks; and buffers whose lifetimes do not overlap sharing regions. One of the
 * {@link Planner}'s two jobs.
 */
final class MemoryLayout {
  private final Graph graph;
  private final DeviceTraits device;

  private MemoryLayout(Graph graph, DeviceTraits device) {
    this.graph = graph;
    this.device = device;
  }

  /** The plan of {@code graph} for batches of up to {@code maxBatch}, keeping what {@code keep} names. */
  static StepPlan of(Graph graph, int maxBatch, Keep keep, DeviceTraits device) {
    return new MemoryLayout(graph, device).layout(maxBatch, keep);
  }

  private StepPlan layout(int maxBatch, Keep keep) {
    List<Node> nodes = graph.nodes();
    for (Node node : nodes) {
      long elements = (long) (node.shape().hasBatch() ? maxBatch : 1) * node.shape().exampleSize();
      if (elements > Integer.MAX_VALUE - 8) {
        throw new IllegalArgumentException(String.format(Locale.ROOT, "%s '%s': %d examples of %d values make %,d floats, more than "
            + "one buffer can hold (2^31 - 1); compile for a smaller batch (maxBatch, --batch-size)", node.kind(),
            node.name(), maxBatch, node.shape().exampleSize(), elements));
      }
    }
    int n = nodes.size();
    List<Region> regions = new ArrayList<>();
    List<Buffer> buffers = new ArrayList<>();
    int[] value = new int[n], gradient = new int[n];
    int[][] work = new int[n][0];
    int[][][] scratch = new int[n][2][0];
    java.util.Arrays.fill(gradient, -1);
    Map<String, Integer> blocks = new HashMap<>();

    // Flat blocks: every parameter at one aligned offset in each.
    List<Param> params = graph.params();
    long[] offset = new long[params.size()];
    long blockBytes = 0;
    for (int i = 0; i < params.size(); i++) {
      offset[i] = blockBytes;
      blockBytes = align(blockBytes + 4L * params.get(i).shape().exampleSize());
    }
    if (blockBytes / 4 > Integer.MAX_VALUE - 8) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "the parameters hold %,d floats, more than one buffer can hold "
          + "(2^31 - 1): the update runs over all of them at once", blockBytes / 4));
    }
    boolean gradients = graph.loss() != null && params.stream().anyMatch(graph::needsGradient);
    if (!params.isEmpty()) {
      int valuesRegion = addRegion(regions, "parameters", blockBytes, true);
      blocks.put("parameters", addBuffer(buffers, "parameters", blockBytes, valuesRegion, 0));
      int gradRegion = -1;
      if (gradients) {
        gradRegion = addRegion(regions, "gradients", blockBytes, true);
        blocks.put("gradients", addBuffer(buffers, "gradients", blockBytes, gradRegion, 0));
        blocks.put("gradient norm", addOwn(regions, buffers, "gradient norm", 4));
      }
      for (int i = 0; i < params.size(); i++) {
        Param p = params.get(i);
        long bytes = 4L * p.shape().exampleSize();
        value[p.id()] = addBuffer(buffers, "value:" + p.name(), bytes, valuesRegion, offset[i]);
        if (gradients && graph.needsGradient(p)) {
          gradient[p.id()] = addBuffer(buffers, "grad:" + p.name(), bytes, gradRegion, offset[i]);
        }
      }
    }

    // Everything else: kept buffers own a region, the rest share pool regions. A view (an op that
    // only regroups its input, such as reshape) shares its input's memory: values always, the
    // gradient when the input feeds nothing else. The group lives as long as its longest member.
    int[] valueRoot = new int[n], gradRoot = new int[n];
    int[] valueLast = new int[n], gradFirst = new int[n];
    boolean[] valueKept = new boolean[n], gradKept = new boolean[n];
    for (Node node : nodes) {
      int id = node.id();
      valueRoot[id] = id;
      gradRoot[id] = id;
      if (node instanceof Apply a && a.op().isView()) {
        Node in = a.inputs().get(0);
        if (!(in instanceof Param) && !(in instanceof State)) valueRoot[id] = valueRoot[in.id()];
        if (runsBackward(in) && runsBackward(node) && !(in instanceof Param) && graph.consumers(in).size() == 1) {
          gradRoot[id] = gradRoot[in.id()];
        }
      }
      valueLast[valueRoot[id]] = Math.max(valueLast[valueRoot[id]], valueEnd(node));
      valueKept[valueRoot[id]] |= keep.value(graph, node);
      if (runsBackward(node)) {
        int r = gradRoot[id];
        gradFirst[r] = r == id ? gradientStart(node) : Math.min(gradFirst[r], gradientStart(node));
        gradKept[r] |= keep.gradient(graph, node);
      }
    }
    BufferPlanner pool = new BufferPlanner();
    Map<Integer, Integer> pooled = new HashMap<>(); // pool request -> buffer
    // Kernel scratch shares memory only with other scratch: the CPU backend, which allocates a
    // region when a value or gradient first uses it, then never allocates scratch at all.
    BufferPlanner scratchPool = new BufferPlanner();
    Map<Integer, Integer> scratchPooled = new HashMap<>();
    for (Node node : nodes) {
      int id = node.id();
      long bytes = 4L * Math.max(1, node.shape().size(maxBatch));
      if (!(node instanceof Param)) {
        value[id] = valueRoot[id] != id ? value[valueRoot[id]] : valueKept[id]
            ? addOwn(regions, buffers, "value:" + node.name(), bytes)
            : pool(pool, pooled, buffers, "value:" + node.name(), bytes, id, valueLast[id]);
      }
      if (!(node instanceof Param) && runsBackward(node)) {
        gradient[id] = gradRoot[id] != id ? gradient[gradRoot[id]] : gradKept[id]
            ? addOwn(regions, buffers, "grad:" + node.name(), bytes)
            : pool(pool, pooled, buffers, "grad:" + node.name(), bytes, gradFirst[id], backwardTime(node));
      }
    }
    for (Node node : nodes) {
      if (!(node instanceof Apply a)) continue;
      List<Shape> shapes = a.op().workspace(a.inputs().stream().map(Node::shape).toArray(Shape[]::new));
      work[node.id()] = new int[shapes.size()];
      for (int i = 0; i < shapes.size(); i++) {
        long bytes = 4L * Math.max(1, shapes.get(i).size(maxBatch));
        work[node.id()][i] = pool(pool, pooled, buffers, "work" + i + ":" + node.name(), bytes, node.id(),
            runsBackward(node) ? backwardTime(node) : node.id());
      }
      Shape[] resolved = a.inputs().stream().map(in -> in.shape().resolve(maxBatch)).toArray(Shape[]::new);
      for (int pass = 0; pass < (runsBackward(node) ? 2 : 1); pass++) {
        int time = pass == 0 ? node.id() : backwardTime(node);
        List<Shape> scratchShapes = a.op().scratch(resolved, pass == 1);
        scratch[node.id()][pass] = new int[scratchShapes.size()];
        for (int i = 0; i < scratchShapes.size(); i++) {
          long elements = scratchShapes.get(i).size(maxBatch);
          if (elements > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(String.format(Locale.ROOT, "%s '%s': scratch %d of %,d floats is more than one buffer "
                + "can hold (2^31 - 1)", node.kind(), node.name(), i, elements));
          }
          scratch[node.id()][pass][i] = pool(scratchPool, scratchPooled, buffers, (pass == 0 ? "scratch" : "bscratch") + i + ":"
              + node.name(), 4L * Math.max(1, elements), time, time);
        }
      }
    }
    placePool(pool, pooled, regions, buffers, "pool");
    placePool(scratchPool, scratchPooled, regions, buffers, "scratch");
    return new StepPlan(nodes, regions, buffers, value, gradient, work, scratch, blocks, firstWrites(gradient));
  }

  /** Gives each physical buffer of a pool a region named {@code prefix<r>}, and its buffers their region. */
  private static void placePool(BufferPlanner pool, Map<Integer, Integer> pooled, List<Region> regions,
      List<Buffer> buffers, String prefix) {
    BufferPlanner.Plan shared = pool.plan();
    int first = regions.size();
    for (int r = 0; r < shared.physicalBytes().length; r++) {
      addRegion(regions, prefix + r, shared.physicalBytes()[r], false);
    }
    for (Map.Entry<Integer, Integer> e : pooled.entrySet()) {
      Buffer b = buffers.get(e.getValue());
      buffers.set(e.getValue(), new Buffer(b.name(), b.bytes(), first + shared.physicalOf()[e.getKey()], 0, b.start(),
          b.end()));
    }
  }

  private long align(long bytes) {
    long a = device.alignBytes();
    return (bytes + a - 1) / a * a;
  }

  private static int addRegion(List<Region> regions, String name, long bytes, boolean block) {
    regions.add(new Region(name, bytes, block));
    return regions.size() - 1;
  }

  private static int addBuffer(List<Buffer> buffers, String name, long bytes, int region, long offset) {
    buffers.add(new Buffer(name, bytes, region, offset, StepPlan.ALWAYS, 0));
    return buffers.size() - 1;
  }

  private static int addOwn(List<Region> regions, List<Buffer> buffers, String name, long bytes) {
    return addBuffer(buffers, name, bytes, addRegion(regions, name, bytes, false), 0);
  }

  private static int pool(BufferPlanner pool, Map<Integer, Integer> pooled, List<Buffer> buffers, String name,
      long bytes, int start, int end) {
    int request = pool.add(bytes, start, end);
    buffers.add(new Buffer(name, bytes, -1, 0, start, end)); // region set once the pool is planned
    pooled.put(request, buffers.size() - 1);
    return buffers.size() - 1;
  }

  private int backwardTime(Node node) {
    return 2 * graph.nodes().size() - 1 - node.id();
  }

  /** The last time a value is read: by a consumer's forward, or by a backward that needs it. */
  private int valueEnd(Node node) {
    int end = node.id();
    boolean training = graph.loss() != null;
    for (Node c : graph.consumers(node)) {
      end = Math.max(end, c.id());
      if (training && graph.needsGradient(c)) end = Math.max(end, backwardTime(c));
    }
    if (training && graph.needsGradient(node)) end = Math.max(end, backwardTime(node));
    return end;
  }

  /** A gradient's life starts at the backward of its last consumer, which writes it first. */
  private int gradientStart(Node node) {
    int start = Integer.MAX_VALUE;
    for (Node c : graph.consumers(node)) if (graph.needsGradient(c)) start = Math.min(start, backwardTime(c));
    return start;
  }

  /**
   * For each node, in backward order, the inputs whose gradient it is the first to write; a view
   * whose gradient is its input's writes nothing of its own.
   */
  private List<List<Node>> firstWrites(int[] gradient) {
    List<Node> nodes = graph.nodes();
    List<List<Node>> out = new ArrayList<>();
    for (int i = 0; i < nodes.size(); i++) out.add(new ArrayList<>());
    Set<Node> written = new HashSet<>();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      if (!(nodes.get(i) instanceof Apply a) || !runsBackward(a)) continue;
      for (Node in : a.inputs()) {
        if (gradient[in.id()] == gradient[a.id()]) continue; // a view sharing its input's gradient
        if (graph.needsGradient(in) && written.add(in)) out.get(i).add(in);
      }
    }
    return out.stream().map(List::copyOf).toList();
  }

  private boolean runsBackward(Node node) {
    return graph.loss() != null && graph.needsGradient(node);
  }

}
