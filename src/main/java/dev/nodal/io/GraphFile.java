package dev.nodal.io;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.ops.OpCatalogue;
import dev.nodal.optim.OptimizerSpec;
import dev.nodal.optim.Optimizers;
import dev.nodal.data.DataException;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The versioned JSON description of a graph: every node in topological order with its kind,
 * shape, inputs, initializer and attributes, plus the loss. Enough to rebuild the graph with no
 * code: parameter values travel separately (safetensors).
 *
 * <p>Versions: files are written as {@link #VERSION}, and every version from
 * {@link #OLDEST_VERSION} up is read, each by its own rules; a newer one is refused, naming the
 * versions this Nodal reads.
 *
 * <ul>
 *   <li>1: the first.
 *   <li>2: an input may carry {@code "requires_grad": true} ({@link Input#requiresGrad()}); a
 *       concat need not name its count (attribute {@code inputs}), which its inputs give.
 * </ul>
 */
public final class GraphFile {
  public static final String FORMAT = "nodal-graph";
  /** The version of the files this Nodal writes, and the newest it reads. */
  public static final int VERSION = 2;
  /** The oldest version this Nodal reads. */
  public static final int OLDEST_VERSION = 1;
  static final ObjectMapper JSON = StrictJson.MAPPER;

  private GraphFile() {}

  static ObjectNode toJson(Graph graph, long seed) {
    ObjectNode root = JSON.createObjectNode();
    root.put("format", FORMAT);
    root.put("version", VERSION);
    root.put("seed", seed);
    if (graph.loss() != null) root.put("loss", graph.loss().name());
    ArrayNode nodes = root.putArray("nodes");
    for (Node n : graph.nodes()) {
      ObjectNode o = nodes.addObject();
      o.put("name", n.name());
      o.put("kind", n.kind());
      ArrayNode shape = o.putArray("shape");
      for (int d : n.shape().dims()) shape.add(d);
      if (n instanceof Input in && in.isLabels()) o.put("classes", in.classes());
      if (n instanceof Input in && in.isGradRequested()) o.put("requires_grad", true);
      if (n instanceof Param p) o.put("init", p.init().describe());
      if (n instanceof State st) o.put("init", st.init().describe());
      if (n instanceof Apply a) {
        ArrayNode ins = o.putArray("inputs");
        for (Node i : a.inputs()) ins.add(i.name());
        if (!a.op().attributes().isEmpty()) o.set("attributes", JSON.valueToTree(a.op().attributes()));
      }
    }
    return root;
  }

  public static String write(Graph graph, long seed) {
    return write(graph, seed, null);
  }

  /**
   * The graph, and the optimizer that trains it when not null: written like an op, as
   * {@code "optimizer": {"name": ..., "attributes": {...}}} with the spec's hyper-parameters (the
   * base learning rate, not a schedule's), read back by {@link #readOptimizer}.
   */
  public static String write(Graph graph, long seed, OptimizerSpec optimizer) {
    Map<String, dev.nodal.graph.OpType> user = OpCatalogue.userTypes();
    for (Node n : graph.nodes()) {
      String why = n instanceof Apply a ? OpCatalogue.unreadable(a.op(), user) : null;
      if (why != null) throw new IllegalArgumentException("node '" + n.name() + "' cannot be written to a graph file: " + why);
    }
    ObjectNode root = toJson(graph, seed);
    if (optimizer != null) {
      ObjectNode o = root.putObject("optimizer");
      o.put("name", optimizer.name());
      o.set("attributes", JSON.valueToTree(optimizer.attributes()));
    }
    try {
      return JSON.writeValueAsString(root);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
  }

  /** The optimizer a graph file names; null when it names none. */
  public static OptimizerSpec readOptimizer(String json, String where) {
    JsonNode o;
    try {
      o = JSON.readTree(json).path("optimizer");
    } catch (IOException e) {
      throw new GraphException(where + ": not JSON: " + e.getMessage());
    }
    if (o.isMissingNode() || o.isNull()) return null;
    try {
      return Optimizers.spec(o.path("name").asText(),
          JSON.convertValue(o.path("attributes"), new TypeReference<LinkedHashMap<String, Object>>() {}));
    } catch (IllegalArgumentException e) {
      throw new GraphException(where + ": optimizer: " + e.getMessage());
    }
  }

  /**
   * Rebuilds the graph a file describes; errors name the file, the node and the problem. The file
   * is read as a schema: unknown keys, integers out of range or with a fraction, text where a
   * number belongs, and a shape other than the one the graph gives its node are refused.
   */
  public static Graph read(String json, String where) {
    try {
      return read(StrictJson.parse(json, where), where);
    } catch (DataException e) {
      throw new GraphException(e.getMessage());
    }
  }

  private static final Set<String> ROOT_KEYS = Set.of("format", "version", "seed", "loss", "nodes", "optimizer");
  private static final Set<String> OPTIMIZER_KEYS = Set.of("name", "attributes");

  /** The keys a node of {@code kind} may have in a file of {@code version}; an op's are those of every op. */
  private static Set<String> nodeKeys(String kind, long version) {
    return switch (kind) {
      case "input" -> version >= 2 ? Set.of("name", "kind", "shape", "requires_grad") : Set.of("name", "kind", "shape");
      case "labels" -> Set.of("name", "kind", "shape", "classes");
      case "param", "state" -> Set.of("name", "kind", "shape", "init");
      default -> Set.of("name", "kind", "shape", "inputs", "attributes");
    };
  }

  /** As {@link #read(String, String)}, from the parsed file. */
  static Graph read(JsonNode root, String where) {
    try {
      StrictJson.keys(root, where, ROOT_KEYS);
      String format = StrictJson.text(StrictJson.required(root, "format", where), where + ": 'format'");
      if (!FORMAT.equals(format)) throw new GraphException(where + ": not a " + FORMAT + " file ('format' is '" + format + "')");
      long version = StrictJson.integer(StrictJson.required(root, "version", where), where + ": 'version'", Long.MIN_VALUE,
          Long.MAX_VALUE);
      if (version < OLDEST_VERSION || version > VERSION) {
        throw new GraphException(where + ": graph file version " + version + " is not supported: this Nodal reads versions "
            + OLDEST_VERSION + " to " + VERSION + (version > VERSION ? "; the file was written by a newer Nodal" : ""));
      }
      long seed = StrictJson.integer(StrictJson.required(root, "seed", where), where + ": 'seed'", Long.MIN_VALUE, Long.MAX_VALUE);
      JsonNode nodes = StrictJson.array(StrictJson.required(root, "nodes", where), where + ": 'nodes'");
      GraphBuilder g = new GraphBuilder(seed);
      Map<String, int[]> shapes = new LinkedHashMap<>();
      Map<String, dev.nodal.graph.OpType> user = OpCatalogue.userTypes();
      for (int i = 0; i < nodes.size(); i++) readNode(g, nodes.get(i), where, i, version, shapes, user);
      if (root.has("optimizer")) optimizer(root, where);
      String loss = root.has("loss") ? StrictJson.text(root.get("loss"), where + ": 'loss'") : null;
      if (loss != null && g.node(loss) == null) throw new GraphException(where + ": loss '" + loss + "' is not a node");
      Graph graph = loss == null ? g.build() : g.build(g.node(loss));
      for (Map.Entry<String, int[]> e : shapes.entrySet()) {
        int[] built = graph.node(e.getKey()).shape().dims();
        if (!java.util.Arrays.equals(e.getValue(), built)) {
          throw new GraphException(where + ": node '" + e.getKey() + "': 'shape' is " + java.util.Arrays.toString(e.getValue())
              + ", but the graph gives the node " + java.util.Arrays.toString(built));
        }
      }
      return graph;
    } catch (DataException e) {
      throw new GraphException(e.getMessage());
    }
  }

  /**
   * Adds node {@code index} of a file of {@code version} to {@code g}, and the shape the file gives
   * it to {@code shapes}.
   */
  private static void readNode(GraphBuilder g, JsonNode o, String where, int index, long version, Map<String, int[]> shapes,
      Map<String, dev.nodal.graph.OpType> user)
      throws DataException {
    StrictJson.object(o, where + ": node " + index);
    String name = StrictJson.text(StrictJson.required(o, "name", where + ": node " + index), where + ": node " + index + ": 'name'");
    String at = where + ": node '" + name + "'";
    String kind = StrictJson.text(StrictJson.required(o, "kind", at), at + ": 'kind'");
    StrictJson.keys(o, at, nodeKeys(kind, version));
    JsonNode shape = StrictJson.array(StrictJson.required(o, "shape", at), at + ": 'shape'");
    int[] dims = new int[shape.size()];
    for (int i = 0; i < dims.length; i++) {
      dims[i] = (int) StrictJson.integer(shape.get(i), at + ": 'shape'[" + i + "]", -1, Integer.MAX_VALUE);
    }
    try {
      switch (kind) {
        case "input" -> {
          if (dims.length == 0 || dims[0] != -1) throw new GraphException(at + ": an input's shape starts with -1, its batch");
          Input in = g.input(name, java.util.Arrays.copyOfRange(dims, 1, dims.length));
          if (o.has("requires_grad") && StrictJson.bool(o.get("requires_grad"), at + ": 'requires_grad'")) in.requiresGrad();
        }
        case "labels" -> {
          if (dims.length == 0 || dims[0] != -1) throw new GraphException(at + ": a labels input's shape starts with -1, its batch");
          g.labels(name, StrictJson.intValue(StrictJson.required(o, "classes", at), at + ": 'classes'", 1),
              java.util.Arrays.copyOfRange(dims, 1, dims.length));
        }
        case "param" -> g.param(name, Init.parse(StrictJson.text(StrictJson.required(o, "init", at), at + ": 'init'")), dims);
        case "state" -> g.state(name, Init.parse(StrictJson.text(StrictJson.required(o, "init", at), at + ": 'init'")), dims);
        default -> {
          Map<String, Object> attrs = Map.of();
          if (o.has("attributes")) {
            StrictJson.object(o.get("attributes"), at + ": 'attributes'");
            attrs = JSON.convertValue(o.get("attributes"), new TypeReference<LinkedHashMap<String, Object>>() {});
          }
          JsonNode ins = StrictJson.array(StrictJson.required(o, "inputs", at), at + ": 'inputs'");
          String[] inputs = new String[ins.size()];
          for (int i = 0; i < inputs.length; i++) inputs[i] = StrictJson.text(ins.get(i), at + ": 'inputs'[" + i + "]");
          g.apply(OpCatalogue.create(kind, attrs, user), name, inputs);
        }
      }
    } catch (IllegalArgumentException e) {
      throw new GraphException(at + ": " + e.getMessage());
    }
    shapes.put(name, dims);
  }

  /**
   * The optimizer a graph file names, checked as a schema: a name and typed attributes (numbers,
   * and booleans such as {@code nesterov}). A learning rate of 0, which files written before specs
   * could hold where a schedule had brought the rate there, is accepted; the spec returned then
   * has a placeholder rate: it serves to count state slots, not to train.
   */
  static OptimizerSpec optimizer(JsonNode root, String where) throws DataException {
    String at = where + ": 'optimizer'";
    JsonNode o = root.get("optimizer");
    StrictJson.keys(o, at, OPTIMIZER_KEYS);
    String name = StrictJson.text(StrictJson.required(o, "name", at), at + ": 'name'");
    JsonNode attributes = StrictJson.required(o, "attributes", at);
    StrictJson.object(attributes, at + ": 'attributes'");
    Map<String, Object> hyper = new LinkedHashMap<>();
    for (Map.Entry<String, JsonNode> e : attributes.properties()) {
      JsonNode v = e.getValue();
      if (v.isBoolean()) {
        hyper.put(e.getKey(), v.booleanValue());
      } else {
        double d = StrictJson.number(v, at + ": 'attributes': '" + e.getKey() + "'", -Float.MAX_VALUE, Float.MAX_VALUE);
        hyper.put(e.getKey(), e.getKey().equals("lr") && d == 0 ? 1f : (float) d);
      }
    }
    try {
      return Optimizers.spec(name, hyper);
    } catch (IllegalArgumentException e) {
      throw new DataException(at + ": " + e.getMessage());
    }
  }
}
