package dev.nodal.io;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
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
import dev.nodal.optim.Optimizer;
import dev.nodal.optim.Optimizers;
import java.io.IOException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The versioned JSON description of a graph: every node in topological order with its kind,
 * shape, inputs, initializer and attributes, plus the loss. Enough to rebuild the graph with no
 * code: parameter values travel separately (safetensors).
 */
public final class GraphFile {
  public static final String FORMAT = "nodal-graph";
  public static final int VERSION = 1;
  static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

  private GraphFile() {}

  public static ObjectNode toJson(Graph graph, long seed) {
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
   * {@code "optimizer": {"name": ..., "attributes": {...}}}, read back by {@link #readOptimizer}.
   */
  public static String write(Graph graph, long seed, Optimizer optimizer) {
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

  /** The optimizer a graph file names, made afresh (step 0, zero state); null when it names none. */
  public static Optimizer readOptimizer(String json, String where) {
    JsonNode o;
    try {
      o = JSON.readTree(json).path("optimizer");
    } catch (IOException e) {
      throw new GraphException(where + ": not JSON: " + e.getMessage());
    }
    if (o.isMissingNode() || o.isNull()) return null;
    try {
      return Optimizers.create(o.path("name").asText(),
          JSON.convertValue(o.path("attributes"), new TypeReference<LinkedHashMap<String, Object>>() {}));
    } catch (IllegalArgumentException e) {
      throw new GraphException(where + ": optimizer: " + e.getMessage());
    }
  }

  /** Rebuilds the graph a file describes; errors name the node and the problem. */
  public static Graph read(String json, String where) {
    JsonNode root;
    try {
      root = JSON.readTree(json);
    } catch (IOException e) {
      throw new GraphException(where + ": not JSON: " + e.getMessage());
    }
    if (!FORMAT.equals(root.path("format").asText())) throw new GraphException(where + ": not a " + FORMAT + " file");
    int version = root.path("version").asInt(-1);
    if (version != VERSION) throw new GraphException(where + ": graph file version " + version + " is not supported (this Nodal reads " + VERSION + ")");
    GraphBuilder g = new GraphBuilder(root.path("seed").asLong());
    for (JsonNode o : root.path("nodes")) {
      String name = o.path("name").asText(), kind = o.path("kind").asText();
      int[] dims = new int[o.path("shape").size()];
      for (int i = 0; i < dims.length; i++) dims[i] = o.path("shape").get(i).asInt();
      try {
        switch (kind) {
          case "input" -> g.input(name, java.util.Arrays.copyOfRange(dims, 1, dims.length));
          case "labels" -> g.labels(name, o.path("classes").asInt());
          case "param" -> g.param(name, Init.parse(o.path("init").asText()), dims);
          case "state" -> g.state(name, Init.parse(o.path("init").asText()), dims);
          default -> {
            Map<String, Object> attrs = o.has("attributes")
                ? JSON.convertValue(o.get("attributes"), new TypeReference<LinkedHashMap<String, Object>>() {}) : Map.of();
            List<String> inputs = new java.util.ArrayList<>();
            o.path("inputs").forEach(i -> inputs.add(i.asText()));
            g.apply(OpCatalogue.create(kind, attrs), name, inputs.toArray(new String[0]));
          }
        }
      } catch (IllegalArgumentException e) {
        throw new GraphException(where + ": node '" + name + "': " + e.getMessage());
      }
    }
    String loss = root.path("loss").asText(null);
    if (loss != null && g.node(loss) == null) throw new GraphException(where + ": loss '" + loss + "' is not a node");
    return loss == null ? g.build() : g.build(g.node(loss));
  }
}
