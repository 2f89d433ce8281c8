package dev.nodal.ops;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Op;
import dev.nodal.graph.OpType;
import dev.nodal.tensor.FusedActivation;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.Set;
import java.util.function.Function;

/**
 * Nodal's node types, declared in one list: each one's kind, class, how to make it from the graph
 * file's attributes, and the kernel programs it launches. The graph-file reader and native-check
 * read it, and the tests check every entry on the samples they keep for it
 * ({@code dev.nodal.testkit.OpSamples}); node types of one's own come through {@link OpType}.
 */
public final class OpCatalogue {
  private OpCatalogue() {}

  /**
   * One node type.
   *
   * @param schema its attributes in graph files; {@code factory} makes the op from them, checked
   * @param programs the kernel programs its launches name ({@link dev.nodal.graph.Kernel#program});
   *     products run on the backend's own GEMM and name none
   */
  public record Entry(String kind, Class<? extends Op> type, AttributeSchema schema,
      Function<AttributeSchema.Values, Op> factory, List<String> programs) {}

  private static final AttributeSchema NONE = AttributeSchema.none();

  private static final List<Entry> ENTRIES = List.of(
      new Entry("dense", Dense.class, Dense.SCHEMA, Dense::fromAttributes, List.of("dense")),
      new Entry("matmul", MatMul.class, MatMul.SCHEMA, MatMul::fromAttributes, List.of()),
      new Entry("add", Add.class, NONE, a -> new Add(), List.of("broadcast")),
      new Entry("sub", Sub.class, NONE, a -> new Sub(), List.of("broadcast")),
      new Entry("mul", Mul.class, NONE, a -> new Mul(), List.of("broadcast")),
      new Entry("div", Div.class, NONE, a -> new Div(), List.of("broadcast")),
      unary("scale", Scale.class, AttributeSchema.of(AttributeSchema.number("factor", null)),
          a -> new Scale((float) a.number("factor"))),
      activation(FusedActivation.RELU, Relu.class, Relu::new),
      unary("leaky_relu", LeakyRelu.class, AttributeSchema.of(AttributeSchema.number("slope", null)),
          a -> new LeakyRelu((float) a.number("slope"))),
      activation(FusedActivation.SIGMOID, Sigmoid.class, Sigmoid::new),
      activation(FusedActivation.TANH, Tanh.class, Tanh::new),
      unary("gelu", Gelu.class, NONE, a -> new Gelu()),
      new Entry("softmax", Softmax.class, Softmax.SCHEMA, Softmax::fromAttributes, List.of("softmax")),
      new Entry("softmax_cross_entropy", SoftmaxCrossEntropy.class, NONE, a -> new SoftmaxCrossEntropy(),
          List.of("softmax_cross_entropy")),
      new Entry("attention", Attention.class, Attention.SCHEMA, Attention::fromAttributes, List.of("attention")),
      new Entry("log_softmax", LogSoftmax.class, NONE, a -> new LogSoftmax(), List.of("log_softmax")),
      new Entry("nll", Nll.class, NONE, a -> new Nll(), List.of("nll")),
      new Entry("concat", Concat.class, Concat.SCHEMA, Concat::fromAttributes, List.of("concat")),
      new Entry("slice", Slice.class, Slice.SCHEMA, Slice::fromAttributes, List.of("slice")),
      new Entry("sum", Sum.class, AxisReduction.SCHEMA, Sum::fromAttributes, List.of("reduce")),
      new Entry("mean", Mean.class, AxisReduction.SCHEMA, Mean::fromAttributes, List.of("reduce")),
      new Entry("conv2d", Conv2d.class, Conv2d.SCHEMA, Conv2d::fromAttributes, List.of("conv2d")),
      new Entry("max_pool2d", Pool2d.class, Pool2d.SCHEMA, a -> Pool2d.fromAttributes(true, a), List.of("pool2d")),
      new Entry("avg_pool2d", Pool2d.class, Pool2d.SCHEMA, a -> Pool2d.fromAttributes(false, a), List.of("pool2d")),
      new Entry("batch_norm", BatchNorm.class, BatchNorm.SCHEMA, BatchNorm::fromAttributes, List.of("batch_norm")),
      new Entry("layer_norm", LayerNorm.class, LayerNorm.SCHEMA, LayerNorm::fromAttributes, List.of("layer_norm")),
      new Entry("rms_norm", RMSNorm.class, RMSNorm.SCHEMA, RMSNorm::fromAttributes, List.of("layer_norm")),
      unary("dropout", Dropout.class, Dropout.SCHEMA, Dropout::fromAttributes),
      new Entry("global_avg_pool2d", GlobalAvgPool2d.class, NONE, a -> new GlobalAvgPool2d(), List.of("global_avg_pool2d")),
      new Entry("reshape", Reshape.class, Reshape.SCHEMA, Reshape::fromAttributes, List.of("reshape")),
      new Entry("permute", Permute.class, Permute.SCHEMA, Permute::fromAttributes, List.of("permute")),
      new Entry("embedding", Embedding.class, NONE, a -> new Embedding(), List.of("embedding")),
      new Entry("mse", Mse.class, NONE, a -> new Mse(), List.of("mse")));

  /** Every node type, in a fixed order. */
  public static List<Entry> entries() {
    return ENTRIES;
  }

  /** The entry of a node type; an {@link IllegalArgumentException} names the known ones. */
  public static Entry entry(String kind) {
    for (Entry e : ENTRIES) if (e.kind().equals(kind)) return e;
    throw new IllegalArgumentException("unknown node type '" + kind + "'; known: "
        + ENTRIES.stream().map(Entry::kind).toList());
  }

  /** The thread's context class loader where there is one (application servers, Spark's jars), else Nodal's. */
  static ClassLoader classLoader() {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return context != null ? context : OpCatalogue.class.getClassLoader();
  }

  /** The kinds of a graph file's data nodes, which no op may take. */
  private static final List<String> RESERVED = List.of("input", "labels", "param", "state");

  /**
   * Null when a graph file can hold {@code op} and read it back as its own class: one of Nodal's
   * node types, or a kind of one's own with its {@link OpType} registered; else why not.
   */
  public static String unreadable(Op op, Map<String, OpType> user) {
    for (Entry e : ENTRIES) {
      if (e.kind().equals(op.kind())) {
        return e.type() == op.getClass() ? null : "its kind '" + op.kind() + "' is Nodal's " + e.type().getName()
            + ", not " + op.getClass().getName();
      }
    }
    if (user.containsKey(op.kind())) return null;
    return "no " + OpType.class.getSimpleName() + " of kind '" + op.kind() + "' is registered (META-INF/services/"
        + OpType.class.getName() + "), so the file could not be read back";
  }

  /**
   * The node types of one's own on the class path ({@link OpType}, through {@link ServiceLoader}),
   * by kind, found afresh on each call.
   *
   * @throws IllegalStateException naming the classes when a type cannot be made, takes the kind of
   *     one of Nodal's own node types or of another of one's own
   */
  public static Map<String, OpType> userTypes() {
    Map<String, OpType> out = new LinkedHashMap<>();
    try {
      for (OpType t : ServiceLoader.load(OpType.class, classLoader())) {
        String kind = t.kind();
        if (kind == null || kind.isBlank()) throw new IllegalStateException("op type " + t.getClass().getName() + " has no kind");
        if (RESERVED.contains(kind)) {
          throw new IllegalStateException("op type " + t.getClass().getName() + " takes the kind '" + kind
              + "', which graph files use for their data nodes " + RESERVED + "; choose another");
        }
        for (Entry e : ENTRIES) {
          if (e.kind().equals(kind)) {
            throw new IllegalStateException("op type " + t.getClass().getName() + " takes the kind '" + kind
                + "' of Nodal's own " + e.type().getName() + "; choose another");
          }
        }
        OpType before = out.putIfAbsent(kind, t);
        if (before != null) {
          throw new IllegalStateException("op types " + before.getClass().getName() + " and " + t.getClass().getName()
              + " both have the kind '" + kind + "'; remove one from the class path");
        }
      }
    } catch (ServiceConfigurationError e) {
      throw new IllegalStateException("an op type cannot be loaded: " + e.getMessage(), e);
    }
    return out;
  }

  /**
   * Makes an op from its kind and attributes, as written in the graph file: one of Nodal's node
   * types or one of one's own ({@link #userTypes}). An attribute that the op's factory never reads
   * is an error: a misspelt key ({@code "activaton": "relu"}) would otherwise be dropped in
   * silence, and the op built without it.
   */
  public static Op create(String kind, Map<String, Object> attributes) {
    return create(kind, attributes, userTypes());
  }

  /** As {@link #create(String, Map)}, with the node types of one's own already found. */
  public static Op create(String kind, Map<String, Object> attributes, Map<String, OpType> user) {
    Op op = null;
    for (Entry e : ENTRIES) if (e.kind().equals(kind)) op = e.factory().apply(e.schema().read(kind, attributes));
    if (op == null) {
      OpType type = user.get(kind);
      if (type == null) {
        List<String> known = new ArrayList<>(ENTRIES.stream().map(Entry::kind).toList());
        known.addAll(user.keySet());
        throw new IllegalArgumentException("unknown node type '" + kind + "'; known: " + known
            + " (a node type of one's own is listed in META-INF/services/" + OpType.class.getName() + ")");
      }
      op = type.schema() != null ? type.create(type.schema().read(kind, attributes).values()) : createUnchecked(type, attributes);
    }
    if (!op.kind().equals(kind)) {
      throw new IllegalArgumentException("the op made for kind '" + kind + "' (" + op.getClass().getName()
          + ") says its kind is '" + op.kind() + "'");
    }
    return op;
  }

  /** An op of one's own whose type declares no schema: a key its factory never reads is still refused. */
  private static Op createUnchecked(OpType type, Map<String, Object> attributes) {
    ReadKeys read = new ReadKeys(attributes);
    Op op = type.create(read);
    for (String key : attributes.keySet()) {
      if (!read.asked.contains(key)) {
        throw new IllegalArgumentException(type.kind() + ": unknown attribute '" + key + "'; "
            + (read.asked.isEmpty() ? type.kind() + " takes none" : "known: " + new java.util.TreeSet<>(read.asked)));
      }
    }
    return op;
  }

  /** A read-only view of attributes that notes every key a factory asks for. */
  private static final class ReadKeys extends java.util.AbstractMap<String, Object> {
    private final Map<String, Object> all;
    private final Set<String> asked = new LinkedHashSet<>();

    ReadKeys(Map<String, Object> all) {
      this.all = all;
    }

    @Override
    public Object get(Object key) {
      if (key instanceof String k) asked.add(k);
      return all.get(key);
    }

    @Override
    public Object getOrDefault(Object key, Object fallback) {
      if (key instanceof String k) asked.add(k);
      return all.getOrDefault(key, fallback);
    }

    @Override
    public boolean containsKey(Object key) {
      if (key instanceof String k) asked.add(k);
      return all.containsKey(key);
    }

    @Override
    public int size() {
      return all.size();
    }

    /** A factory that walks every entry reads every key. */
    @Override
    public Set<Map.Entry<String, Object>> entrySet() {
      asked.addAll(all.keySet());
      return java.util.Collections.unmodifiableMap(all).entrySet();
    }
  }

  /** Every kernel program that some node type launches, in catalogue order. */
  public static List<String> programs() {
    Set<String> programs = new LinkedHashSet<>();
    for (Entry e : ENTRIES) programs.addAll(e.programs());
    return List.copyOf(programs);
  }

  /** An elementwise op of one input: its kernel program is {@code <kind>}. */
  private static Entry unary(String kind, Class<? extends Op> type, AttributeSchema schema,
      Function<AttributeSchema.Values, Op> factory) {
    return new Entry(kind, type, schema, factory, List.of(kind));
  }

  /** A node that is one of the {@link FusedActivation}s: its kind is the activation's name, its program {@code activation}. */
  private static Entry activation(FusedActivation a, Class<? extends Op> type, java.util.function.Supplier<Op> make) {
    return new Entry(a.attribute(), type, NONE, attributes -> make.get(), List.of("activation"));
  }
}
