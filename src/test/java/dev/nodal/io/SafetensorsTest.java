package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.data.DataException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

class SafetensorsTest {

  private static Map<String, Safetensors.Tensor> sample() {
    Map<String, Safetensors.Tensor> t = new LinkedHashMap<>();
    t.put("w", new Safetensors.Tensor(new int[] {2, 3}, new float[] {1, 2, 3, 4, 5, 6}));
    t.put("b", new Safetensors.Tensor(new int[] {3}, new float[] {-0.5f, 0f, 0.25f}));
    return t;
  }

  @Test
  void layoutFollowsTheSpec() {
    byte[] bytes = Safetensors.encode(sample(), Map.of("producer", "nodal"));
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    long n = buf.getLong();
    assertEquals(0, n % 8, "the header is padded to a multiple of 8");
    String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
    assertEquals("{\"__metadata__\":{\"producer\":\"nodal\"},"
        + "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]},"
        + "\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[12,36]}}", header.strip());
    assertEquals(8 + n + 36, bytes.length);
    assertEquals(-0.5f, ByteBuffer.wrap(bytes, (int) (8 + n), 4).order(ByteOrder.LITTLE_ENDIAN).getFloat());
  }

  @Test
  void roundTrip() throws Exception {
    Safetensors.Contents c = Safetensors.decode(Safetensors.encode(sample(), Map.of("k", "v")), "mem");
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("w").data());
    assertArrayEquals(new int[] {2, 3}, c.tensors().get("w").shape());
    assertEquals("v", c.metadata().get("k"));
  }

  /**
   * A file written by Python's safetensors library (torch tensors, {@code save_file}) reads back
   * with the same values, and the bytes Nodal writes for the same tensors and metadata are the
   * bytes that library wrote: the format is the public one, not a look-alike.
   */
  @Test
  void fileWrittenByPythonSafetensors() throws Exception {
    Path fixture = Path.of(getClass().getResource("/safetensors/python-written.safetensors").toURI());
    Safetensors.Contents c = Safetensors.read(fixture);
    assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("w").data());
    assertArrayEquals(new float[] {-0.5f, 0f, 0.25f}, c.tensors().get("b").data());
    assertArrayEquals(Files.readAllBytes(fixture), Safetensors.encode(sample(), c.metadata()));
  }

  /** Jackson keeps the last of two equal keys: a header could name a tensor twice and still read. */
  @Test
  void aTensorNamedTwiceOrAnUnknownKeyIsRefused() {
    byte[] good = Safetensors.encode(sample(), Map.of("producer", "nodal"));
    String header = new String(good, 8, (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong(), StandardCharsets.UTF_8).strip();
    String b = "\"b\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,12]}";
    assertTrue(header.contains(b), header);
    String msg = assertThrows(DataException.class, () -> Safetensors.decode(withHeader(good, header.replace(b, b + "," + b)),
        "f.st")).getMessage();
    assertTrue(msg.startsWith("f.st: header names a tensor twice: key 'b' appears twice in one object"), msg);
    msg = assertThrows(DataException.class, () -> Safetensors.decode(withHeader(good,
        header.replace("\"shape\":[3]", "\"shape\":[3],\"strides\":[1]")), "f.st")).getMessage();
    assertTrue(msg.startsWith("f.st: tensor 'b': unknown key 'strides'"), msg);
    msg = assertThrows(DataException.class, () -> Safetensors.decode(withHeader(good,
        header.replace("\"producer\":\"nodal\"", "\"producer\":7")), "f.st")).getMessage();
    assertEquals("f.st: __metadata__ 'producer' is integer 7; metadata values are strings", msg);
  }

  /** The file {@code file} with its header replaced by {@code header}, padded, and the same data. */
  private static byte[] withHeader(byte[] file, String header) {
    long n = ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong();
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    int padded = (h.length + 7) / 8 * 8;
    ByteBuffer out = ByteBuffer.allocate((int) (8 + padded + file.length - 8 - n)).order(ByteOrder.LITTLE_ENDIAN);
    out.putLong(padded).put(h);
    for (int i = h.length; i < padded; i++) out.put((byte) ' ');
    return out.put(file, (int) (8 + n), (int) (file.length - 8 - n)).array();
  }

  @Test
  void malformedFilesAreRejectedWithTheirName() {
    byte[] good = Safetensors.encode(sample(), Map.of());
    String msg = assertThrows(DataException.class, () -> Safetensors.decode(Arrays.copyOf(good, good.length - 4), "f.st")).getMessage();
    assertTrue(msg.startsWith("f.st: tensor"), msg);
    byte[] longHeader = good.clone();
    ByteBuffer.wrap(longHeader).order(ByteOrder.LITTLE_ENDIAN).putLong(0, 1L << 40);
    msg = assertThrows(DataException.class, () -> Safetensors.decode(longHeader, "f.st")).getMessage();
    assertTrue(msg.contains("header length"), msg);
    byte[] notJson = good.clone();
    notJson[8] = 'x';
    msg = assertThrows(DataException.class, () -> Safetensors.decode(notJson, "f.st")).getMessage();
    assertTrue(msg.contains("header is not JSON"), msg);
  }
}
