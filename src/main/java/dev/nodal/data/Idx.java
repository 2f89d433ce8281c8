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
      return new Header(dims).itemSize();
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
    return reading(file, stream, (h, in) -> {
      if (h.dataBytes() > Integer.MAX_VALUE - 8) {
        throw new DataException(file + ": the header " + java.util.Arrays.toString(h.dims()) + " needs "
            + h.dataBytes() + " bytes, more than one array holds; read it in parts (readItems)");
      }
      byte[] data = in.readNBytes((int) h.dataBytes());
      long trailing = data.length < h.dataBytes() ? 0 : in.transferTo(OutputStream.nullOutputStream());
      if (data.length < h.dataBytes() || trailing > 0) {
        throw new DataException(file + ": " + (trailing == 0 ? "truncated" : "trailing bytes") + ": the header "
            + java.util.Arrays.toString(h.dims()) + " needs " + h.dataBytes() + " bytes of data, the file has "
            + (data.length + trailing));
      }
      return new Array(h.dims(), data);
    });
  }

  /**
   * Items {@code from} to {@code from + count} of an IDX file, read from a stream of the whole
   * file (raw or gzipped), closing it: the header, a skip to the first item, then those items
   * alone. For a reader of a slice of a large file, such as one task of a Spark job.
   */
  public static Array readItems(String file, InputStream stream, long from, int count) throws DataException {
    return reading(file, stream, (h, in) -> {
      if (from < 0 || count < 0 || from + count > h.count()) {
        throw new DataException(file + ": items " + from + " to " + (from + count) + " asked for, the file holds "
            + h.count());
      }
      int[] dims = h.dims().clone();
      dims[0] = count;
      long skip = from * h.itemSize(), length = (long) count * h.itemSize();
      if (length > Integer.MAX_VALUE - 8) throw new DataException(file + ": " + count + " items are too many to read at once");
      try {
        in.skipNBytes(skip);
      } catch (EOFException e) {
        throw new DataException(file + ": truncated: item " + from + " lies past the end of the file", e);
      }
      byte[] data = in.readNBytes((int) length);
      if (data.length < length) {
        throw new DataException(file + ": truncated: items " + from + " to " + (from + count) + " need " + length
            + " bytes from byte " + (h.length() + skip) + ", the file has " + data.length + " of them");
      }
      return new Array(dims, data);
    });
  }

  /**
   * The header of an IDX file, read from a stream of the whole file (raw or gzipped), closing it:
   * its dimensions, without reading the values.
   */
  public static Header header(String file, InputStream stream) throws DataException {
    return reading(file, stream, (h, in) -> h);
  }

  /** What is read after the header, from the unpacked stream. */
  @FunctionalInterface
  private interface Reading<T> {
    T after(Header header, InputStream in) throws IOException;
  }

  /**
   * Opens {@code stream} (raw or gzipped), reads and checks its header, then {@code body}; closes
   * the stream. Every error becomes a {@link DataException} that names {@code file}: an end
   * inside a gzip stream is a corrupt stream (a raw file's end is the body's to report).
   */
  private static <T> T reading(String file, InputStream stream, Reading<T> body) throws DataException {
    try (stream; InputStream in = unpacked(stream)) {
      return body.after(readHeader(file, in), in);
    } catch (ZipException | EOFException e) {
      throw new DataException(file + ": corrupt gzip stream (" + e.getMessage() + "); download the file again");
    } catch (DataException e) {
      throw e;
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
  }

  /**
   * Checks that two files hold images (rank 2 or more) and their labels (rank 1), as many of each;
   * the error names the file at fault.
   */
  public static void checkImagesAndLabels(String images, Header img, String labels, Header lab) throws DataException {
    if (img.dims().length < 2) throw new DataException(images + ": expected images (rank ≥ 2), found rank " + img.dims().length);
    if (lab.dims().length != 1) throw new DataException(labels + ": expected labels (rank 1), found rank " + lab.dims().length);
    if (img.count() != lab.count()) {
      throw new DataException(images + " holds " + img.count() + " images but " + labels + " holds " + lab.count()
          + " labels: the files do not belong together");
    }
  }

  /** An IDX file's dimensions; the values follow the {@link #length} bytes of the header. */
  public record Header(int[] dims) {
    public int count() {
      return dims[0];
    }

    /** Elements per item: the product of every dimension after the first. */
    public int itemSize() {
      int n = 1;
      for (int i = 1; i < dims.length; i++) n *= dims[i];
      return n;
    }

    /** The bytes of the header itself. */
    public int length() {
      return 4 + 4 * dims.length;
    }

    /** The bytes of values that follow the header. */
    public long dataBytes() {
      return (long) count() * itemSize();
    }
  }

  /** Reads and checks the header from the start of an unpacked stream, leaving the stream at the first value. */
  private static Header readHeader(String file, InputStream in) throws IOException, DataException {
    byte[] start = in.readNBytes(4);
    if (start.length < 4) throw new DataException(file + ": too short for an IDX header (" + start.length + " bytes)");
    if (start[0] != 0 || start[1] != 0) {
      throw new DataException(String.format(Locale.ROOT, "%s: not an IDX file (magic starts %02x %02x, expected 00 00)", file, start[0], start[1]));
    }
    if ((start[2] & 0xff) != UBYTE) {
      throw new DataException(String.format(Locale.ROOT, "%s: IDX type 0x%02x is not supported (only unsigned bytes, 0x08)", file, start[2]));
    }
    int rank = start[3] & 0xff;
    if (rank < 1 || rank > 4) throw new DataException(file + ": IDX rank " + rank + " is not between 1 and 4");
    byte[] sizes = in.readNBytes(4 * rank);
    if (sizes.length < 4 * rank) {
      throw new DataException(file + ": truncated header (" + (4 + sizes.length) + " bytes, needs " + (4 + 4 * rank) + ")");
    }
    ByteBuffer b = ByteBuffer.wrap(sizes);
    int[] dims = new int[rank];
    long item = 1;
    for (int i = 0; i < rank; i++) {
      dims[i] = b.getInt();
      if (dims[i] <= 0) throw new DataException(file + ": dimension " + i + " is " + dims[i]);
      if (i > 0) item *= dims[i];
    }
    if (item > Integer.MAX_VALUE) {
      throw new DataException(file + ": items of " + item + " values (the header " + java.util.Arrays.toString(dims)
          + ") are more than one array holds");
    }
    return new Header(dims);
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
