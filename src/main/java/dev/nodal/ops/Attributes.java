package dev.nodal.ops;

import java.util.Map;

/** Reads an op's numeric attributes from a graph file, with errors that name the op and the key. */
final class Attributes {
  private Attributes() {}

  /** The attribute {@code key} of {@code kind}; an error when it is missing or not a number. */
  static double number(Map<String, Object> a, String kind, String key) {
    Object v = a.get(key);
    if (!(v instanceof Number n)) {
      throw new IllegalArgumentException(kind + ": " + (v == null ? "missing attribute '" + key + "'"
          : "attribute '" + key + "' is not a number: " + v));
    }
    return n.doubleValue();
  }

  /** As {@link #number(Map, String, String)}, with {@code fallback} when the attribute is absent. */
  static double number(Map<String, Object> a, String kind, String key, double fallback) {
    return a.get(key) == null ? fallback : number(a, kind, key);
  }
}
