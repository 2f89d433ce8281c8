package dev.nodal.graph;

import java.math.BigInteger;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The attributes a node type takes, declared once: each one's name, type, default (or none, when
 * it is required) and the values it allows. Reading a graph file checks its attributes against
 * it ({@link #read}): an unknown key, a value of the wrong type, out of range or not among the
 * choices is an error that names the node type and the attribute; {@code nodal ops} prints it for
 * people ({@link #describe}).
 *
 * <pre>
 * static final AttributeSchema SCHEMA = AttributeSchema.of(
 *     AttributeSchema.integer("kernel", null, 1, 1024),
 *     AttributeSchema.number("eps", 1e-5, 0, false, Double.MAX_VALUE, true),
 *     AttributeSchema.choice("activation", "none", List.of("none", "relu", "sigmoid", "tanh")));
 * </pre>
 */
public final class AttributeSchema {
  /** One attribute. */
  public sealed interface Attribute permits IntAttribute, NumberAttribute, BoolAttribute, ChoiceAttribute,
      IntListAttribute {
    String name();

    /** The default, or null when the attribute has none. */
    Object fallback();

    /** True when a file must give it (no default, and its absence means nothing). */
    default boolean required() {
      return fallback() == null;
    }

    /** The value read from a graph file, checked; {@code kind} names the node type in errors. */
    Object check(String kind, Object value);

    /** The type and allowed values, for people. */
    String describe();
  }

  /** A whole number in {@code [min, max]}; with {@code optional}, absent means "the op's own choice". */
  public record IntAttribute(String name, Integer fallback, int min, int max, boolean optional) implements Attribute {
    @Override
    public boolean required() {
      return fallback == null && !optional;
    }

    @Override
    public Object check(String kind, Object value) {
      int v = integer(kind, "attribute '" + name + "'", value);
      if (v < min || v > max) {
        throw new IllegalArgumentException(kind + ": attribute '" + name + "' is " + v + "; it must be " + range(min, max));
      }
      return v;
    }

    @Override
    public String describe() {
      return min == Integer.MIN_VALUE && max == Integer.MAX_VALUE ? "integer" : "integer, " + range(min, max);
    }
  }

  /** A number between {@code min} and {@code max} (each included or not), finite as a float. */
  public record NumberAttribute(String name, Double fallback, double min, boolean minIncluded, double max,
      boolean maxIncluded) implements Attribute {
    @Override
    public Object check(String kind, Object value) {
      if (!(value instanceof Number n)) {
        throw new IllegalArgumentException(kind + ": attribute '" + name + "' is not a number: " + value);
      }
      double v = n.doubleValue();
      if (!Float.isFinite((float) v)) {
        throw new IllegalArgumentException(kind + ": attribute '" + name + "' is " + value + ", beyond the range of a float");
      }
      if ((minIncluded ? v < min : v <= min) || (maxIncluded ? v > max : v >= max)) {
        throw new IllegalArgumentException(kind + ": attribute '" + name + "' is " + value + "; it must be " + range());
      }
      return v;
    }

    private String range() {
      boolean low = min > -Double.MAX_VALUE, high = max < Double.MAX_VALUE;
      if (!low && !high) return "finite";
      if (!high) return (minIncluded ? "at least " : "greater than ") + format(min);
      if (!low) return (maxIncluded ? "at most " : "less than ") + format(max);
      return "in " + (minIncluded ? "[" : "(") + format(min) + ", " + format(max) + (maxIncluded ? "]" : ")");
    }

    @Override
    public String describe() {
      return "number, " + range();
    }
  }

  /** {@code true} or {@code false}. */
  public record BoolAttribute(String name, Boolean fallback) implements Attribute {
    @Override
    public Object check(String kind, Object value) {
      if (value instanceof Boolean b) return b;
      throw new IllegalArgumentException(kind + ": attribute '" + name + "' is not true or false: " + value);
    }

    @Override
    public String describe() {
      return "true or false";
    }
  }

  /** One of a list of words. */
  public record ChoiceAttribute(String name, String fallback, List<String> choices) implements Attribute {
    public ChoiceAttribute {
      choices = List.copyOf(choices);
    }

    @Override
    public Object check(String kind, Object value) {
      if (value instanceof String s && choices.contains(s)) return s;
      throw new IllegalArgumentException(kind + ": attribute '" + name + "' must be " + String.join(", ", choices)
          + ", not '" + value + "'");
    }

    @Override
    public String describe() {
      return "one of " + String.join(", ", choices);
    }
  }

  /** A list of whole numbers, each in {@code [min, max]}. */
  public record IntListAttribute(String name, List<Integer> fallback, int min, int max) implements Attribute {
    @Override
    public Object check(String kind, Object value) {
      if (!(value instanceof List<?> list)) {
        throw new IllegalArgumentException(kind + ": attribute '" + name + "' is not a list: " + value);
      }
      List<Integer> out = new ArrayList<>();
      for (int i = 0; i < list.size(); i++) {
        int v = integer(kind, "'" + name + "'[" + i + "]", list.get(i));
        if (v < min || v > max) {
          throw new IllegalArgumentException(kind + ": '" + name + "'[" + i + "] is " + v + "; it must be " + range(min, max));
        }
        out.add(v);
      }
      return Collections.unmodifiableList(out);
    }

    @Override
    public String describe() {
      return "list of integers, each " + range(min, max);
    }
  }

  private static final AttributeSchema NONE = new AttributeSchema(List.of());

  private final Map<String, Attribute> attributes = new LinkedHashMap<>();

  private AttributeSchema(List<Attribute> attributes) {
    for (Attribute a : attributes) {
      if (this.attributes.put(a.name(), a) != null) throw new IllegalArgumentException("attribute '" + a.name() + "' twice");
    }
  }

  public static AttributeSchema of(Attribute... attributes) {
    return new AttributeSchema(List.of(attributes));
  }

  /** A node type without attributes. */
  public static AttributeSchema none() {
    return NONE;
  }

  /** A whole number in {@code [min, max]}, {@code fallback} when absent (null: required). */
  public static IntAttribute integer(String name, Integer fallback, int min, int max) {
    return new IntAttribute(name, fallback, min, max, false);
  }

  /** A whole number in {@code [min, max]} that a file may leave out, the op then choosing. */
  public static IntAttribute optionalInteger(String name, int min, int max) {
    return new IntAttribute(name, null, min, max, true);
  }

  /** Any number finite as a float, {@code fallback} when absent (null: required). */
  public static NumberAttribute number(String name, Double fallback) {
    return new NumberAttribute(name, fallback, -Double.MAX_VALUE, true, Double.MAX_VALUE, true);
  }

  /** A number between {@code min} and {@code max}, each included or not. */
  public static NumberAttribute number(String name, Double fallback, double min, boolean minIncluded, double max,
      boolean maxIncluded) {
    return new NumberAttribute(name, fallback, min, minIncluded, max, maxIncluded);
  }

  public static BoolAttribute bool(String name, Boolean fallback) {
    return new BoolAttribute(name, fallback);
  }

  public static ChoiceAttribute choice(String name, String fallback, List<String> choices) {
    return new ChoiceAttribute(name, fallback, choices);
  }

  public static IntListAttribute integers(String name, List<Integer> fallback, int min, int max) {
    return new IntListAttribute(name, fallback, min, max);
  }

  /** The attributes, in order. */
  public List<Attribute> attributes() {
    return List.copyOf(attributes.values());
  }

  /**
   * The attributes of a graph file's node of type {@code kind}, checked, with defaults filled in.
   *
   * @throws IllegalArgumentException naming the node type and the attribute: unknown, missing,
   *     of the wrong type or not an allowed value
   */
  public Values read(String kind, Map<String, Object> raw) {
    for (String key : raw.keySet()) {
      if (!attributes.containsKey(key)) {
        throw new IllegalArgumentException(kind + ": unknown attribute '" + key + "'; "
            + (attributes.isEmpty() ? kind + " takes none" : "known: " + new java.util.TreeSet<>(attributes.keySet())));
      }
    }
    Map<String, Object> out = new LinkedHashMap<>();
    for (Attribute a : attributes.values()) {
      Object v = raw.get(a.name());
      if (v == null) {
        if (a.required()) throw new IllegalArgumentException(kind + ": missing attribute '" + a.name() + "'");
        if (a.fallback() != null) out.put(a.name(), a.check(kind, a.fallback()));
      } else {
        out.put(a.name(), a.check(kind, v));
      }
    }
    return new Values(kind, Collections.unmodifiableMap(out));
  }

  /** One line per attribute: name, type and allowed values, default. */
  public List<String> describe() {
    List<String> out = new ArrayList<>();
    for (Attribute a : attributes.values()) {
      out.add(a.name() + ": " + a.describe() + (a.required() ? ", required" : a.fallback() == null ? ", optional"
          : ", default " + (a.fallback() instanceof Double d ? format(d) : a.fallback())));
    }
    return out;
  }

  /** Checked attributes, by name. */
  public record Values(String kind, Map<String, Object> values) {
    public int integer(String name) {
      return (Integer) get(name);
    }

    /** An optional integer, or {@code fallback} when the file left it out. */
    public int integer(String name, int fallback) {
      return values.containsKey(name) ? (Integer) values.get(name) : fallback;
    }

    public double number(String name) {
      return (Double) get(name);
    }

    public boolean bool(String name) {
      return (Boolean) get(name);
    }

    public String text(String name) {
      return (String) get(name);
    }

    @SuppressWarnings("unchecked")
    public List<Integer> integers(String name) {
      return (List<Integer>) get(name);
    }

    private Object get(String name) {
      if (!values.containsKey(name)) throw new IllegalArgumentException(kind + " has no attribute '" + name + "'");
      return values.get(name);
    }
  }

  /** {@code v} as an int: an error when it has a fraction (even {@code 2.0}) or lies outside an int's range. */
  static int integer(String kind, String what, Object v) {
    if (!(v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte || v instanceof BigInteger)) {
      throw new IllegalArgumentException(kind + ": " + what + " is not an integer: " + v);
    }
    BigInteger b = v instanceof BigInteger big ? big : BigInteger.valueOf(((Number) v).longValue());
    if (b.bitLength() > 31) throw new IllegalArgumentException(kind + ": " + what + " is " + v + ", beyond the range of an int");
    return b.intValue();
  }

  /** {@code [min, max]} in words: "at least 1" where there is no upper bound. */
  private static String range(int min, int max) {
    if (max == Integer.MAX_VALUE) return "at least " + min;
    if (min == Integer.MIN_VALUE) return "at most " + max;
    return "in [" + min + ", " + max + "]";
  }

  private static String format(double d) {
    return java.math.BigDecimal.valueOf(d).stripTrailingZeros().toPlainString();
  }
}
