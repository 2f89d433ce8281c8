package dev.nodal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DatasetAndLoaderTest {
  @TempDir Path dir;

  private static Dataset numbered(int n) {
    float[] x = new float[n * 2];
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      x[2 * i] = i;
      x[2 * i + 1] = -i;
      y[i] = i % 3;
    }
    return new Dataset("numbered", x, y, n, 2, 3);
  }

  @Test
  void csvWithHeaderAndLabelColumn() throws Exception {
    Path csv = dir.resolve("d.csv");
    Files.writeString(csv, "a,label,b\n0.5,1,2\n-1,0,3.5\n");
    Dataset d = Dataset.fromCsv(csv, 1, 2);
    assertEquals(2, d.size());
    assertEquals(2, d.featureSize());
    assertArrayEquals(new float[] {0.5f, 2, -1, 3.5f}, d.features());
    assertArrayEquals(new float[] {1, 0}, d.labels());
  }

  @Test
  void csvErrorsNameTheFileAndLine() throws Exception {
    Path csv = dir.resolve("bad.csv");
    Files.writeString(csv, "1,2,0\n1,x,1\n");
    String msg = assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage();
    assertEquals(csv + ":2: column 2 is 'x', not a number", msg);
    Files.writeString(csv, "a,b,label\n1,2,0\n1,2,5\n");
    msg = assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage();
    assertEquals(csv + ":3: column 3, the label, is 5.0, not a class index in [0, 2)", msg);
    Files.writeString(csv, "1,2,0\n1,2\n");
    msg = assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage();
    assertTrue(msg.contains(":2: 2 columns, expected 3"), msg);
    for (String bad : new String[] {"NaN", "Infinity", "-Infinity", "1e39"}) {
      Files.writeString(csv, "1,2,0\n1," + bad + ",1\n");
      msg = assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage();
      assertEquals(csv + ":2: column 2 is " + bad + "; values must be finite numbers", msg);
    }
  }

  /** A data row with a typo is an error naming its line and column, even as the first or only row. */
  @Test
  void aTypoInTheOnlyOrFirstRowIsNotTakenForAHeader() throws Exception {
    Path csv = dir.resolve("typo.csv");
    Files.writeString(csv, "0.5,2x,1\n");
    assertEquals(csv + ":1: column 2 is '2x', not a number",
        assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage());
    Files.writeString(csv, "a,b,label\n\n0.5,,1\n");
    assertEquals(csv + ":3: column 2 is empty, not a number",
        assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage());
    Files.writeString(csv, "0.5,2x,1\n0.25,3,0\n");
    assertEquals(csv + ":1: column 2 is '2x', not a number",
        assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage(), "not a header: row 2 lost");
    Files.writeString(csv, "a,b,label\n");
    assertEquals(csv + ": no data rows (line 1, where no cell is a number, is the header)",
        assertThrows(DataException.class, () -> Dataset.fromCsv(csv, -1, 2)).getMessage());
  }

  @Test
  void everyExampleOnceWithAPartialLastBatch() {
    Dataset d = numbered(10);
    try (BatchLoader l = new BatchLoader(d, 4, true, 7)) {
      assertEquals(3, l.batchesPerEpoch());
      List<Integer> sizes = new ArrayList<>();
      boolean[] seen = new boolean[10];
      for (Iterator<BatchLoader.Batch> it = l.epoch(0); it.hasNext(); ) {
        BatchLoader.Batch b = it.next();
        sizes.add(b.n());
        for (int i = 0; i < b.n(); i++) {
          int e = (int) b.features()[2 * i];
          assertFalse(seen[e], "example " + e + " twice");
          seen[e] = true;
          assertEquals(e % 3, b.labels()[i]);
          assertEquals(-e, b.features()[2 * i + 1]);
        }
      }
      assertEquals(List.of(4, 4, 2), sizes);
      for (boolean s : seen) assertTrue(s);
    }
  }

  @Test
  void shuffleDependsOnlyOnSeedAndEpoch() {
    Dataset d = numbered(50);
    try (BatchLoader a = new BatchLoader(d, 8, true, 3); BatchLoader b = new BatchLoader(d, 8, true, 3);
        BatchLoader c = new BatchLoader(d, 8, false, 3)) {
      assertArrayEquals(a.order(2), b.order(2));
      assertFalse(Arrays.equals(a.order(1), a.order(2)), "each epoch has its own order");
      int[] identity = new int[50];
      for (int i = 0; i < 50; i++) identity[i] = i;
      assertArrayEquals(identity, c.order(4));
    }
  }

  @Test
  void anExplicitDataFolderMustHoldAllFourFilesNeverFallsBack(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
    Path subset = TestData.smallFashionMnist();
    for (String f : new String[] {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"}) {
      java.nio.file.Files.copy(subset.resolve(f), dir.resolve(f));
    }
    DataException e = org.junit.jupiter.api.Assertions.assertThrows(DataException.class, () -> FashionMnist.load(dir));
    org.junit.jupiter.api.Assertions.assertEquals("--data " + dir + " lacks t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte "
        + "(each raw or .gz); it must hold all four Fashion-MNIST files", e.getMessage());
    DataException none = org.junit.jupiter.api.Assertions.assertThrows(DataException.class,
        () -> FashionMnist.load(dir.resolve("absent")));
    org.junit.jupiter.api.Assertions.assertEquals("--data " + dir.resolve("absent") + ": no such folder", none.getMessage());
  }

  /** A raw file beside its .gz is not read: the files read are logged, and the one ignored is named with why. */
  @Test
  void aRawFileBesideItsGzIsReportedAsIgnored() throws Exception {
    Path subset = TestData.smallFashionMnist();
    for (String f : FashionMnist.FILES) Files.copy(subset.resolve(f + ".gz"), dir.resolve(f + ".gz"));
    Files.writeString(dir.resolve("train-images-idx3-ubyte"), "junk");
    Idx.write(dir.resolve("t10k-labels-idx1-ubyte"), new int[] {2}, new byte[] {1, 2});
    ch.qos.logback.classic.Logger logger = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(FashionMnist.class);
    ch.qos.logback.core.read.ListAppender<ch.qos.logback.classic.spi.ILoggingEvent> seen = new ch.qos.logback.core.read.ListAppender<>();
    seen.start();
    ch.qos.logback.classic.Level level = logger.getLevel();
    logger.setLevel(ch.qos.logback.classic.Level.INFO);
    logger.addAppender(seen);
    try {
      assertEquals(1000, FashionMnist.load(dir).train().size());
    } finally {
      logger.detachAppender(seen);
      logger.setLevel(level);
    }
    List<String> info = seen.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.INFO)
        .map(e -> e.getFormattedMessage()).toList();
    List<String> warnings = seen.list.stream().filter(e -> e.getLevel() == ch.qos.logback.classic.Level.WARN)
        .map(e -> e.getFormattedMessage()).toList();
    assertEquals(List.of("Reading Fashion-MNIST from " + dir + ": train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, "
        + "t10k-images-idx3-ubyte.gz, t10k-labels-idx1-ubyte.gz"), info);
    assertEquals(List.of(
        dir.resolve("train-images-idx3-ubyte") + " is ignored: train-images-idx3-ubyte.gz beside it is read instead (a .gz "
            + "is preferred), and it is not an IDX file anyway (its first bytes are not an IDX header)",
        dir.resolve("t10k-labels-idx1-ubyte") + " is ignored: t10k-labels-idx1-ubyte.gz beside it is read instead (a .gz "
            + "is preferred); delete the one that is wrong if they differ"), warnings);
  }

  @Test
  void searchPathOrder() {
    DataOptions defaults = DataOptions.defaults();
    List<Path> places = FashionMnist.searchPath(Path.of("/mine"), defaults);
    assertEquals(List.of(Path.of("/mine"), defaults.cache(), Path.of("/usr/share/datasets/fashion-mnist")), places);
    assertEquals(Path.of(System.getProperty("user.home"), ".cache", "nodal", "fashion-mnist"), defaults.cache());
    DataOptions mine = defaults.withFolder(Path.of("/env")).withCache(Path.of("/cache"));
    assertEquals(List.of(Path.of("/mine"), Path.of("/env"), Path.of("/cache"), Path.of("/usr/share/datasets/fashion-mnist")),
        FashionMnist.searchPath(Path.of("/mine"), mine), "--data, $NODAL_DATA, the cache, Debian's folder");
    assertEquals(List.of(Path.of("/env"), Path.of("/cache"), Path.of("/usr/share/datasets/fashion-mnist")),
        FashionMnist.searchPath(null, mine));
  }

  @Test
  void badBatchSize() {
    assertThrows(IllegalArgumentException.class, () -> new BatchLoader(numbered(3), 0, false, 0));
  }
}
