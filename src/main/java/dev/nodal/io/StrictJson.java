package dev.nodal.io;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.json.JsonMapper;
import dev.nodal.data.DataException;
import java.io.IOException;
import java.util.Collection;
import java.util.Iterator;
import java.util.TreeSet;

/**
 * The checkpoint's files read as a schema, not as a hint: a key given twice, text after the
 * document, a key the schema does not know, a fraction or an out-of-range value where an integer
 * belongs, or text where a number belongs is an error. Jackson's own accessors ({@code asInt},
 * {@code intValue}) would wrap 4294967552 to 256, truncate 784.5 to 784 and read "abc" as 0.
 *
 * <p>Every error is a {@link DataException} whose message starts with {@code where}: the file,
 * then the node or key within it, as the callers build it ({@code "/run/checkpoint/trainer.json:
 * 'step'"}).
 */
final class StrictJson {
  /** Refuses duplicate keys and trailing text when reading; indents when writing. */
  static final ObjectMapper MAPPER = JsonMapper.builder()
      .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
      .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
      .enable(SerializationFeature.INDENT_OUTPUT)
      .build();

  private StrictJson() {}

  /** The document in {@code text}; empty text, a duplicate key or text after the document is an error. */
  static JsonNode parse(String text, String where) throws DataException {
    JsonNode root;
    try {
      root = MAPPER.readTree(text);
    } catch (IOException e) {
      throw new DataException(where + ": " + reason(e), e);
    }
    if (root == null || root.isMissingNode()) throw new DataException(where + ": empty, not JSON");
    return root;
  }

  /** Why a text did not parse: a key given twice, or where the JSON breaks. */
  static String reason(IOException e) {
    if (e instanceof JsonProcessingException j && j.getOriginalMessage().startsWith("Duplicate field ")) {
      return "key " + j.getOriginalMessage().substring("Duplicate field ".length()) + " appears twice in one object"
          + (j.getLocation() == null ? "" : " (line " + j.getLocation().getLineNr() + ")");
    }
    if (e instanceof JsonProcessingException j && j.getOriginalMessage().startsWith("Trailing token")) {
      return "not JSON: text follows the document" + (j.getLocation() == null ? ""
          : " (line " + j.getLocation().getLineNr() + ", column " + j.getLocation().getColumnNr() + ")");
    }
    return "not JSON: " + e.getMessage();
  }

  /** Checks that {@code node} is an object whose keys all lie in {@code known}. */
  static void keys(JsonNode node, String where, Collection<String> known) throws DataException {
    object(node, where);
    for (Iterator<String> it = node.fieldNames(); it.hasNext(); ) {
      String key = it.next();
      if (!known.contains(key)) {
        throw new DataException(where + ": unknown key '" + key + "'; known: " + new TreeSet<>(known));
      }
    }
  }

  static void object(JsonNode node, String where) throws DataException {
    if (node == null || !node.isObject()) throw new DataException(where + ": " + describe(node) + " where an object belongs");
  }

  /** The value of {@code key}, which must be present. */
  static JsonNode required(JsonNode parent, String key, String where) throws DataException {
    JsonNode v = parent.get(key);
    if (v == null) throw new DataException(where + ": key '" + key + "' is missing");
    return v;
  }

  static JsonNode array(JsonNode v, String where) throws DataException {
    if (v == null || !v.isArray()) throw new DataException(where + ": " + describe(v) + " where an array belongs");
    return v;
  }

  static String text(JsonNode v, String where) throws DataException {
    if (v == null || !v.isTextual()) throw new DataException(where + ": " + describe(v) + " where text belongs");
    return v.textValue();
  }

  /** {@code true} or {@code false}, not text or a number. */
  static boolean bool(JsonNode v, String where) throws DataException {
    if (v == null || !v.isBoolean()) throw new DataException(where + ": " + describe(v) + " where true or false belongs");
    return v.booleanValue();
  }

  /** An integer (no fraction, no exponent, not text) within {@code [min, max]}. */
  static long integer(JsonNode v, String where, long min, long max) throws DataException {
    if (v == null || !v.isIntegralNumber()) {
      throw new DataException(where + ": " + describe(v) + " where an integer belongs");
    }
    if (!v.canConvertToLong() || v.longValue() < min || v.longValue() > max) {
      throw new DataException(where + ": " + v + " is out of range [" + min + ", " + max + "]");
    }
    return v.longValue();
  }

  /** An integer within {@code [min, Integer.MAX_VALUE]}. */
  static int intValue(JsonNode v, String where, int min) throws DataException {
    return (int) integer(v, where, min, Integer.MAX_VALUE);
  }

  /** A finite number, integral or not, within {@code [min, max]}. */
  static double number(JsonNode v, String where, double min, double max) throws DataException {
    if (v == null || !v.isNumber()) throw new DataException(where + ": " + describe(v) + " where a number belongs");
    double d = v.doubleValue();
    if (!Double.isFinite(d) || d < min || d > max) {
      throw new DataException(where + ": " + v + " is out of range [" + min + ", " + max + "]");
    }
    return d;
  }

  /** What a value is, for messages: its JSON text when short, else its type. */
  static String describe(JsonNode v) {
    if (v == null || v.isMissingNode()) return "nothing";
    if (v.isNull()) return "null";
    String text = v.toString();
    String type = v.isTextual() ? "text" : v.isNumber() ? (v.isIntegralNumber() ? "integer" : "fractional number")
        : v.isBoolean() ? "boolean" : v.isArray() ? "array" : "object";
    return text.length() <= 40 ? type + " " + text : type;
  }
}
