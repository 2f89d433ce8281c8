package dev.nodal.ops;

import java.math.BigInteger;
import java.util.Map;

/** Reads an op's numeric attributes from a graph file, with errors that name the op and the key. */
final class Attributes {
  private Attributes() {}

  /** The attribute {@code key} of {@code kind}; an error when it is missing, not a number or not finite as a float. */
  static double number(Map<String, Object> a, String kind, String key) {
    Object v = a.get(key);
    if (!(v instanceof Number n)) {
      throw new IllegalArgumentException(kind + ": " + (v == null ? "missing attribute '" + key + "'"
          : "attribute '" + key + "' is not a number: " + v));
    }
    if (!Float.isFinite(n.floatValue())) {
      throw new IllegalArgumentException(kind + ": attribute '" + key + "' is " + v + ", beyond the range of a float");
    }
    return n.doubleValue();
  }

  /** As {@link #number(Map, String, String)}, with {@code fallback} when the attribute is absent. */
  static double number(Map<String, Object> a, String kind, String key, double fallback) {
    return a.get(key) == null ? fallback : number(a, kind, key);
  }

  /** The boolean attribute {@code key} of {@code kind}, {@code fallback} when absent; text or a number is an error. */
  static boolean bool(Map<String, Object> a, String kind, String key, boolean fallback) {
    Object v = a.get(key);
    if (v == null) return fallback;
    if (v instanceof Boolean b) return b;
    throw new IllegalArgumentException(kind + ": attribute '" + key + "' is not true or false: " + v);
  }

  /**
   * The integer attribute {@code key} of {@code kind}: an error when it is missing, has a fraction
   * (even {@code 2.0}) or lies outside the range of an int, which a cast would silently wrap.
   */
  static int integer(Map<String, Object> a, String kind, String key) {
    Object v = a.get(key);
    if (v == null) throw new IllegalArgumentException(kind + ": missing attribute '" + key + "'");
    return integer(v, kind, "attribute '" + key + "'");
  }

  /** As {@link #integer(Map, String, String)}, with {@code fallback} when the attribute is absent. */
  static int integer(Map<String, Object> a, String kind, String key, int fallback) {
    return a.get(key) == null ? fallback : integer(a, kind, key);
  }

  /** {@code v} as an int; {@code what} names it in the error. */
  static int integer(Object v, String kind, String what) {
    if (!(v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte || v instanceof BigInteger)) {
      throw new IllegalArgumentException(kind + ": " + what + " is not an integer: " + v);
    }
    BigInteger b = v instanceof BigInteger big ? big : BigInteger.valueOf(((Number) v).longValue());
    if (b.bitLength() > 31) throw new IllegalArgumentException(kind + ": " + what + " is " + v + ", beyond the range of an int");
    return b.intValue();
  }
}
