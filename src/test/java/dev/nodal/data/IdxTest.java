package dev.nodal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxTest {
  @TempDir Path dir;

  private String fails(Path p) {
    return assertThrows(DataException.class, () -> Idx.read(p)).getMessage();
  }

  @Test
  void roundTripRawAndGzipped() throws IOException {
    byte[] data = new byte[2 * 3 * 4];
    for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 11);
    for (String name : new String[] {"a-idx3-ubyte", "a-idx3-ubyte.gz"}) {
      Path p = dir.resolve(name);
      Idx.write(p, new int[] {2, 3, 4}, data);
      Idx.Array a = Idx.read(p);
      assertArrayEquals(new int[] {2, 3, 4}, a.dims());
      assertArrayEquals(data, a.data());
      assertEquals(12, a.itemSize());
    }
  }

  /** A slice of items, as one Spark task reads its partition: the same bytes as the whole file's, raw or gzipped. */
  @Test
  void readsASliceOfItemsAndItsHeaderAlone() throws IOException {
    byte[] data = new byte[7 * 2 * 3];
    for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7 + 1);
    for (String name : new String[] {"s-idx3-ubyte", "s-idx3-ubyte.gz"}) {
      Path p = dir.resolve(name);
      Idx.write(p, new int[] {7, 2, 3}, data);
      Idx.Header h = Idx.header(p.toString(), Files.newInputStream(p));
      assertArrayEquals(new int[] {7, 2, 3}, h.dims());
      assertEquals(16, h.length());
      assertEquals(42, h.dataBytes());
      for (int[] range : new int[][] {{0, 7}, {2, 3}, {6, 1}, {7, 0}, {0, 0}}) {
        Idx.Array a = Idx.readItems(p.toString(), Files.newInputStream(p), range[0], range[1]);
        assertArrayEquals(new int[] {range[1], 2, 3}, a.dims());
        assertArrayEquals(Arrays.copyOfRange(data, range[0] * 6, (range[0] + range[1]) * 6), a.data(), name);
      }
      String msg = assertThrows(DataException.class,
          () -> Idx.readItems(p.toString(), Files.newInputStream(p), 5, 3)).getMessage();
      assertEquals(p + ": items 5 to 8 asked for, the file holds 7", msg);
    }
    Path cut = dir.resolve("cut-idx1-ubyte");
    Idx.write(cut, new int[] {10}, new byte[10]);
    byte[] all = Files.readAllBytes(cut);
    Files.write(cut, Arrays.copyOf(all, all.length - 4));
    assertArrayEquals(new byte[6], Idx.readItems(cut.toString(), Files.newInputStream(cut), 0, 6).data());
    String msg = assertThrows(DataException.class,
        () -> Idx.readItems(cut.toString(), Files.newInputStream(cut), 4, 4)).getMessage();
    assertTrue(msg.startsWith(cut + ": truncated: items 4 to 8 need 4 bytes from byte 12, the file has 2 of them"), msg);
  }

  @Test
  void truncatedFileIsRejectedWithItsName() throws IOException {
    Path p = dir.resolve("t-idx1-ubyte");
    Idx.write(p, new int[] {10}, new byte[10]);
    byte[] all = Files.readAllBytes(p);
    Files.write(p, Arrays.copyOf(all, all.length - 3));
    String msg = fails(p);
    assertTrue(msg.startsWith(p + ": truncated"), msg);
    assertTrue(msg.contains("needs 10 bytes of data, the file has 7"), msg);
  }

  @Test
  void trailingBytesAreRejected() throws IOException {
    Path p = dir.resolve("x-idx1-ubyte");
    Idx.write(p, new int[] {4}, new byte[4]);
    Files.write(p, new byte[] {1, 2}, java.nio.file.StandardOpenOption.APPEND);
    assertTrue(fails(p).contains("trailing bytes"));
  }

  @Test
  void wrongMagicAndTypeAreRejected() throws IOException {
    Path p = dir.resolve("bad");
    Files.write(p, new byte[] {1, 2, 8, 1, 0, 0, 0, 1, 5});
    assertTrue(fails(p).contains("not an IDX file (magic starts 01 02"), fails(p));
    Files.write(p, new byte[] {0, 0, 0x0D, 1, 0, 0, 0, 1, 5, 5, 5, 5});
    assertTrue(fails(p).contains("IDX type 0x0d is not supported"), fails(p));
  }

  @Test
  void corruptGzipIsRejected() throws IOException {
    Path p = dir.resolve("c.gz");
    Idx.write(p, new int[] {100}, new byte[100]);
    byte[] all = Files.readAllBytes(p);
    Files.write(p, Arrays.copyOf(all, all.length / 2));
    assertTrue(fails(p).startsWith(p + ": corrupt gzip stream"), fails(p));
  }

  @Test
  void mismatchedImagesAndLabelsAreRejected() throws IOException {
    Path images = dir.resolve("images-idx3-ubyte");
    Path labels = dir.resolve("labels-idx1-ubyte");
    Idx.write(images, new int[] {3, 2, 2}, new byte[12]);
    Idx.write(labels, new int[] {4}, new byte[4]);
    String msg = assertThrows(DataException.class, () -> Dataset.fromIdx(images, labels, 10)).getMessage();
    assertTrue(msg.contains("holds 3 images but") && msg.contains("holds 4 labels"), msg);
    Idx.write(labels, new int[] {3}, new byte[] {1, 12, 0});
    msg = assertThrows(DataException.class, () -> Dataset.fromIdx(images, labels, 10)).getMessage();
    assertTrue(msg.contains("label 12 of item 1 is not below 10"), msg);
  }

  @Test
  void shippedSubsetReads() throws Exception {
    Path folder = TestData.smallFashionMnist();
    FashionMnist.Splits s = FashionMnist.read(folder);
    assertEquals(1000, s.train().size());
    assertEquals(200, s.test().size());
    assertEquals(784, s.train().featureSize());
    for (float v : s.train().features()) assertTrue(v >= 0 && v <= 1);
  }
}
