package dev.nodal.data;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * The IDX format of (Fashion-)MNIST, unsigned bytes only: two zero bytes, the type byte 0x08, the
 * number of dimensions, each dimension as a big-endian int, then the values. Files may be gzipped
 * (detected by content, not by name). Every error names the file.
 */
public final class Idx {
  private static final int UBYTE = 0x08;

  private Idx() {}

  /** A parsed file: its dimensions and its values, row-major, as unsigned bytes. */
  public record Array(int[] dims, byte[] data) {
    public int count() {
      return dims[0];
    }

    /** Elements per item: the product of every dimension after the first. */
    public int itemSize() {
      int n = 1;
      for (int i = 1; i < dims.length; i++) n *= dims[i];
      return n;
    }
  }

  public static Array read(Path file) throws DataException {
    InputStream in;
    try {
      in = Files.newInputStream(file);
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
    return read(file.toString(), in);
  }

  /**
   * Reads an IDX file from a stream (from any file system), closing it; {@code file} names it in
   * errors. Gzipped content is detected and unpacked.
   */
  public static Array read(String file, InputStream stream) throws DataException {
    byte[] raw;
    try (stream; InputStream in = unpacked(stream)) {
      raw = in.readAllBytes();
    } catch (ZipException | EOFException e) {
      throw new DataException(file + ": corrupt gzip stream (" + e.getMessage() + "); download the file again");
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (raw.length < 4) throw new DataException(file + ": too short for an IDX header (" + raw.length + " bytes)");
    if (raw[0] != 0 || raw[1] != 0) {
      throw new DataException(String.format(Locale.ROOT, "%s: not an IDX file (magic starts %02x %02x, expected 00 00)", file, raw[0], raw[1]));
    }
    if ((raw[2] & 0xff) != UBYTE) {
      throw new DataException(String.format(Locale.ROOT, "%s: IDX type 0x%02x is not supported (only unsigned bytes, 0x08)", file, raw[2]));
    }
    int rank = raw[3] & 0xff;
    if (rank < 1 || rank > 4) throw new DataException(file + ": IDX rank " + rank + " is not between 1 and 4");
    int header = 4 + 4 * rank;
    if (raw.length < header) throw new DataException(file + ": truncated header (" + raw.length + " bytes, needs " + header + ")");
    ByteBuffer b = ByteBuffer.wrap(raw, 4, 4 * rank);
    int[] dims = new int[rank];
    long expected = 1;
    for (int i = 0; i < rank; i++) {
      dims[i] = b.getInt();
      if (dims[i] <= 0) throw new DataException(file + ": dimension " + i + " is " + dims[i]);
      expected *= dims[i];
    }
    long actual = raw.length - header;
    if (actual != expected) {
      throw new DataException(file + ": " + (actual < expected ? "truncated" : "trailing bytes") + ": the header "
          + java.util.Arrays.toString(dims) + " needs " + expected + " bytes of data, the file has " + actual);
    }
    byte[] data = new byte[(int) expected];
    System.arraycopy(raw, header, data, 0, data.length);
    return new Array(dims, data);
  }

  /** Writes an unsigned-byte IDX file, gzipped when the name ends in {@code .gz}. */
  public static void write(Path file, int[] dims, byte[] data) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    bytes.write(new byte[] {0, 0, UBYTE, (byte) dims.length});
    ByteBuffer b = ByteBuffer.allocate(4 * dims.length);
    for (int d : dims) b.putInt(d);
    bytes.write(b.array());
    bytes.write(data);
    try (OutputStream out = file.toString().endsWith(".gz")
        ? new GZIPOutputStream(Files.newOutputStream(file))
        : Files.newOutputStream(file)) {
      bytes.writeTo(out);
    }
  }

  private static InputStream unpacked(InputStream stream) throws IOException {
    InputStream in = new BufferedInputStream(stream, 1 << 16);
    in.mark(2);
    int b0 = in.read(), b1 = in.read();
    in.reset();
    return b0 == 0x1f && b1 == 0x8b ? new GZIPInputStream(in, 1 << 16) : in;
  }
}
