package dev.nodal.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.nodal.data.DataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * The safetensors format, float32 only: an 8-byte little-endian header length N, N bytes of JSON
 * (padded with spaces to a multiple of 8) mapping each tensor name to its {@code dtype},
 * {@code shape} and {@code data_offsets} (relative to the end of the header), an optional
 * {@code __metadata__} map of strings, then the tensors' little-endian bytes, back to back in the
 * order of their names.
 */
public final class Safetensors {
  /** Refuses a header that names a tensor twice, which would leave one of the two unread. */
  private static final ObjectMapper JSON = StrictJson.MAPPER;
  private static final java.util.Set<String> TENSOR_KEYS = java.util.Set.of("dtype", "shape", "data_offsets");
  /** The reference implementation refuses larger headers too. */
  private static final long MAX_HEADER = 100L << 20;

  private Safetensors() {}

  /** A named float32 tensor. */
  public record Tensor(int[] shape, float[] data) {
    public Tensor {
      long n = 1;
      for (int d : shape) n *= d;
      if (n != data.length) throw new IllegalArgumentException("shape " + java.util.Arrays.toString(shape) + " holds " + n + " values, not " + data.length);
    }
  }

  /** The tensors of a file, by name, and its metadata. */
  public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

  /** The bytes of a file holding {@code tensors} (sorted by name) and {@code metadata}. */
  public static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata) {
    ObjectNode header = JSON.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      new TreeMap<>(metadata).forEach(meta::put);
    }
    long offset = 0;
    TreeMap<String, Tensor> sorted = new TreeMap<>(tensors);
    for (Map.Entry<String, Tensor> e : sorted.entrySet()) {
      if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("'__metadata__' is not a tensor name");
      ObjectNode t = header.putObject(e.getKey());
      t.put("dtype", "F32");
      var shape = t.putArray("shape");
      for (int d : e.getValue().shape()) shape.add(d);
      long bytes = 4L * e.getValue().data().length;
      t.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] json = header.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (json.length + 7) / 8 * 8;
    ByteBuffer buf = ByteBuffer.allocate((int) (8 + padded + offset)).order(ByteOrder.LITTLE_ENDIAN);
    buf.putLong(padded);
    buf.put(json);
    for (int i = json.length; i < padded; i++) buf.put((byte) ' ');
    for (Tensor t : sorted.values()) for (float v : t.data()) buf.putFloat(v);
    return buf.array();
  }

  public static Contents read(Path file) throws DataException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
    return decode(bytes, file.toString());
  }

  /** Parses a file's bytes; every inconsistency is an error that names {@code where}. */
  public static Contents decode(byte[] bytes, String where) throws DataException {
    if (bytes.length < 8) throw new DataException(where + ": too short for a safetensors header");
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long n = buf.getLong();
    if (n < 2 || n > MAX_HEADER || 8 + n > bytes.length) {
      throw new DataException(where + ": header length " + n + " does not fit a file of " + bytes.length + " bytes");
    }
    JsonNode header;
    try {
      header = JSON.readTree(new String(bytes, 8, (int) n, StandardCharsets.UTF_8));
    } catch (IOException e) {
      String reason = StrictJson.reason(e);
      throw new DataException(where + ": header " + (reason.startsWith("not JSON") ? "is " + reason
          : "names a tensor twice: " + reason), e);
    }
    if (!header.isObject()) throw new DataException(where + ": header is not a JSON object");
    long dataStart = 8 + n, dataLength = bytes.length - dataStart;
    Map<String, Tensor> tensors = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    java.util.List<long[]> spans = new java.util.ArrayList<>();
    java.util.List<String> names = new java.util.ArrayList<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      if (e.getKey().equals("__metadata__")) {
        if (!e.getValue().isObject()) throw new DataException(where + ": __metadata__ is not an object of strings");
        for (Map.Entry<String, JsonNode> m : e.getValue().properties()) {
          if (!m.getValue().isTextual()) {
            throw new DataException(where + ": __metadata__ '" + m.getKey() + "' is " + StrictJson.describe(m.getValue())
                + "; metadata values are strings");
          }
          metadata.put(m.getKey(), m.getValue().textValue());
        }
        continue;
      }
      JsonNode t = e.getValue();
      try {
        StrictJson.keys(t, where + ": tensor '" + e.getKey() + "'", TENSOR_KEYS);
      } catch (DataException bad) {
        throw new DataException(bad.getMessage() + " (a tensor has dtype, shape and data_offsets)");
      }
      String dtype = t.path("dtype").asText();
      if (!dtype.equals("F32")) throw new DataException(where + ": tensor '" + e.getKey() + "' has dtype " + dtype + "; only F32 is supported");
      JsonNode shapeNode = t.path("shape"), offsets = t.path("data_offsets");
      if (!shapeNode.isArray() || !offsets.isArray() || offsets.size() != 2) {
        throw new DataException(where + ": tensor '" + e.getKey() + "' lacks a shape or two data_offsets");
      }
      int[] shape = new int[shapeNode.size()];
      long count = 1;
      for (int i = 0; i < shape.length; i++) {
        JsonNode d = shapeNode.get(i);
        if (!d.canConvertToInt() || !d.isIntegralNumber() || d.asInt() < 0) {
          throw new DataException(where + ": tensor '" + e.getKey() + "' has dimension " + d + " in its shape; dimensions are "
              + "integers >= 0");
        }
        shape[i] = d.asInt();
        count *= shape[i];
        if (count > Integer.MAX_VALUE) {
          throw new DataException(where + ": tensor '" + e.getKey() + "' has shape " + shapeNode + ": more elements than "
              + "one array holds");
        }
      }
      JsonNode b0 = offsets.get(0), b1 = offsets.get(1);
      if (!b0.canConvertToLong() || !b1.canConvertToLong() || !b0.isIntegralNumber() || !b1.isIntegralNumber()) {
        throw new DataException(where + ": tensor '" + e.getKey() + "': data_offsets " + offsets + " are not integers");
      }
      long begin = b0.asLong(), end = b1.asLong();
      if (begin < 0 || end < begin || end > dataLength || end - begin != 4 * count) {
        throw new DataException(where + ": tensor '" + e.getKey() + "': data_offsets [" + begin + ", " + end
            + "] do not hold " + count + " floats within " + dataLength + " bytes of data");
      }
      spans.add(new long[] {begin, end});
      names.add(e.getKey());
      float[] data = new float[(int) count];
      ByteBuffer.wrap(bytes, (int) (dataStart + begin), (int) (end - begin)).order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
      tensors.put(e.getKey(), new Tensor(shape, data));
    }
    // The tensors must tile the data section exactly: no overlap, no gap.
    Integer[] order = new Integer[spans.size()];
    for (int i = 0; i < order.length; i++) order[i] = i;
    java.util.Arrays.sort(order, java.util.Comparator.comparingLong(i -> spans.get(i)[0]));
    long covered = 0;
    for (int i : order) {
      if (spans.get(i)[0] != covered) {
        throw new DataException(where + ": tensor '" + names.get(i) + "' starts at byte " + spans.get(i)[0] + " of the data, "
            + (spans.get(i)[0] < covered ? "inside the tensor before it" : "leaving a gap after byte " + covered));
      }
      covered = spans.get(i)[1];
    }
    if (covered != dataLength) throw new DataException(where + ": tensors cover " + covered + " of " + dataLength + " data bytes");
    return new Contents(tensors, metadata);
  }
}
