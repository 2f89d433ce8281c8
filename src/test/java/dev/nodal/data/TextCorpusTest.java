package dev.nodal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Reading, refusing, splitting and cutting a text into windows of bytes. */
class TextCorpusTest {
  @TempDir Path dir;

  /** {@code n} bytes of English-like text. */
  static byte[] text(int n) {
    String words = "the quick brown fox jumps over the lazy dog; ";
    StringBuilder sb = new StringBuilder();
    while (sb.length() < n) sb.append(words);
    return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
  }

  private Path file(String name, byte[] bytes) throws Exception {
    Path f = dir.resolve(name);
    Files.write(f, bytes);
    return f;
  }

  private String refusal(Path f, int context) {
    return assertThrows(DataException.class, () -> TextCorpus.read(f, context)).getMessage();
  }

  @Test
  void anEmptyTextIsRefusedNamingTheFile() throws Exception {
    Path f = file("empty.txt", new byte[0]);
    assertEquals(f + ": the text is empty", refusal(f, 8));
  }

  @Test
  void aBinaryFileIsRefusedNamingTheFile() throws Exception {
    byte[] b = text(2000);
    b[1234] = 0;
    Path nul = file("nul.bin", b);
    assertEquals(nul + ": a NUL byte at offset 1234; this is a binary file, not text", refusal(nul, 8));
    byte[] latin = text(2000);
    for (int i = 0; i < 100; i++) latin[i * 20] = (byte) 0xe9; // 5% of the bytes: Latin-1 é, no UTF-8
    Path bad = file("latin1.txt", latin);
    String msg = refusal(bad, 8);
    assertTrue(msg.startsWith(bad + ": 100 of its 2000 bytes (5.0%) are not UTF-8"), msg);
  }

  @Test
  void aFewBytesOutsideUtf8AndWellFormedUtf8AreText() throws Exception {
    byte[] b = text(2000);
    b[10] = (byte) 0xe9;
    assertEquals(2000, TextCorpus.read(file("one-latin1.txt", b), 8).size());
    byte[] utf8 = "naïve café – ünïcödé 😀 ".repeat(40).getBytes(StandardCharsets.UTF_8);
    assertEquals(0, TextCorpus.invalidUtf8(utf8));
    assertEquals(utf8.length, TextCorpus.read(file("utf8.txt", utf8), 8).size());
    assertEquals(1, TextCorpus.invalidUtf8(new byte[] {'a', (byte) 0xc3})); // cut short
    assertEquals(2, TextCorpus.invalidUtf8(new byte[] {(byte) 0xc0, (byte) 0x80})); // overlong
    assertEquals(3, TextCorpus.invalidUtf8(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80})); // a surrogate
  }

  @Test
  void aTextTooShortForTheContextIsRefusedNamingTheFile() throws Exception {
    Path f = file("short.txt", text(329));
    assertEquals(f + ": 329 bytes of text are too short for context 32: its training part (90%) and its validation "
        + "part (10%) must each hold 33 bytes, so at least 330 bytes are needed", refusal(f, 32));
    assertEquals(330, TextCorpus.read(file("enough.txt", text(330)), 32).size());
  }

  @Test
  void theLastTenthIsHeldOut() throws Exception {
    TextCorpus c = TextCorpus.of("t", text(1005), 8);
    assertEquals(905, c.trainBytes());
    assertEquals(100, c.validationBytes());
    assertEquals(1005, c.size());
    assertEquals('t', c.token(0));
  }

  @Test
  void aFolderIsItsRegularFilesInSortedOrderWithoutIndexFilesOrLinks() throws Exception {
    Path folder = Files.createDirectory(dir.resolve("fortunes"));
    Files.write(folder.resolve("b"), text(600));
    Files.write(folder.resolve("a"), "A".repeat(500).getBytes(StandardCharsets.US_ASCII));
    Files.write(folder.resolve("a.dat"), new byte[] {0, 0, 0, 2}); // strfile's index: binary
    Files.createSymbolicLink(folder.resolve("a.u8"), folder.resolve("a"));
    Files.createDirectory(folder.resolve("off"));
    TextCorpus c = TextCorpus.read(folder, 8);
    assertEquals(1100, c.size());
    assertEquals('A', c.token(499));
    assertEquals('t', c.token(500));
    assertEquals(folder + " (2 files)", c.source());
    Path empty = Files.createDirectory(dir.resolve("empty"));
    assertEquals(empty + ": the folder holds no text files", refusal(empty, 8));
    Files.write(folder.resolve("c"), new byte[] {1, 0, 2});
    assertEquals(folder.resolve("c") + ": a NUL byte at offset 1; this is a binary file, not text", refusal(folder, 8));
  }

  @Test
  void withoutDataTheFortunesAreSearchedAndTheErrorSaysHowToGetThem() throws Exception {
    Path missing = dir.resolve("no-fortunes");
    String msg = assertThrows(DataException.class, () -> TextCorpus.load(null, 8, List.of(missing))).getMessage();
    assertEquals("No text to train on. Looked for Debian's fortunes in:\n  " + missing + "\nTo get them: apt-get install "
        + "fortunes (Debian/Ubuntu), or pass --data FILE|DIR with any UTF-8 text.", msg);
    Files.createDirectory(missing);
    Files.write(missing.resolve("fortunes"), text(500));
    assertEquals(500, TextCorpus.load(null, 8, List.of(dir.resolve("elsewhere"), missing)).size());
    Path gone = dir.resolve("gone.txt");
    assertEquals("--data " + gone + ": no such file or folder",
        assertThrows(DataException.class, () -> TextCorpus.load(gone, 8)).getMessage());
  }

  private static List<BatchLoader.Batch> all(Batches b, int epoch) {
    List<BatchLoader.Batch> out = new ArrayList<>();
    for (Iterator<BatchLoader.Batch> it = b.epoch(epoch); it.hasNext(); ) out.add(it.next());
    return out;
  }

  @Test
  void trainingWindowsAreSeededPerEpochAndTargetsAreTheNextBytes() throws Exception {
    byte[] bytes = new byte[3000];
    for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (' ' + i % 90);
    TextCorpus c = TextCorpus.of("t", bytes, 16);
    Batches b = c.training(16, 4, 7, 5);
    assertEquals(5, b.batchesPerEpoch());
    List<BatchLoader.Batch> e1 = all(b, 1);
    assertEquals(5, e1.size());
    List<BatchLoader.Batch> again = all(c.training(16, 4, 7, 5), 1); // a resumed run: epoch 1 alone, anew
    for (int i = 0; i < 5; i++) {
      assertArrayEquals(e1.get(i).features(), again.get(i).features());
      assertArrayEquals(e1.get(i).labels(), again.get(i).labels());
    }
    assertFalse(java.util.Arrays.equals(e1.get(0).features(), all(b, 2).get(0).features()), "another epoch");
    assertFalse(java.util.Arrays.equals(e1.get(0).features(), all(c.training(16, 4, 8, 5), 1).get(0).features()),
        "another seed");
    for (BatchLoader.Batch batch : e1) {
      assertEquals(4, batch.n());
      assertEquals(64, batch.features().length);
      for (int w = 0; w < 4; w++) {
        int start = -1;
        for (int i = 0; i < c.trainBytes() - 16; i++) if (c.token(i) == (int) batch.features()[w * 16]) start = i;
        for (int t = 0; t < 16; t++) {
          if (t > 0) assertEquals(batch.labels()[w * 16 + t - 1], batch.features()[w * 16 + t], "targets are the next bytes");
        }
        assertTrue(start >= 0, "windows lie in the training part");
      }
    }
    assertEquals(c.trainBytes() / (4 * 16), c.training(16, 4, 7, 0).batchesPerEpoch(), "0 steps: about one pass");
  }

  @Test
  void validationWindowsSpanTheHeldOutPartAlwaysAlike() throws Exception {
    byte[] bytes = new byte[2000];
    for (int i = 0; i < bytes.length; i++) bytes[i] = (byte) (i < 1800 ? 'a' : 'b');
    TextCorpus c = TextCorpus.of("t", bytes, 10);
    Batches v = c.validation(10, 8);
    List<BatchLoader.Batch> batches = all(v, 0);
    assertEquals(19, batches.stream().mapToInt(BatchLoader.Batch::n).sum(), "(200 - 1) / 10 windows");
    assertEquals(3, v.batchesPerEpoch());
    for (BatchLoader.Batch b : batches) {
      for (float x : b.features()) assertEquals('b', x, "held-out bytes only");
      for (float y : b.labels()) assertEquals('b', y);
    }
    assertArrayEquals(batches.get(2).features(), all(v, 0).get(2).features());
  }
}
