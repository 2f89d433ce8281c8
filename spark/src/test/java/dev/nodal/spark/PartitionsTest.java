package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.data.DataException;
import dev.nodal.data.Dataset;
import dev.nodal.data.FashionMnist;
import dev.nodal.data.Idx;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The RDDs whose tasks read their own rows hold, partition by partition, exactly the rows that
 * {@code parallelize} put in the same partitions, while their partitions carry no rows.
 */
class PartitionsTest {
  private static final Path SUBSET = StandaloneClusterIT.SUBSET;
  static JavaSparkContext sc;
  @TempDir Path dir;

  @BeforeAll
  static void start() {
    sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("partitions").set("spark.ui.enabled", "false"));
  }

  @AfterAll
  static void stop() {
    sc.close();
  }

  /** Each partition's rows, features and label, in order. */
  private static List<List<float[]>> rows(JavaRDD<Example> rdd) {
    List<List<float[]>> out = new ArrayList<>();
    for (List<Example> part : rdd.glom().collect()) {
      List<float[]> p = new ArrayList<>();
      for (Example e : part) {
        float[] row = java.util.Arrays.copyOf(e.features(), e.features().length + 1);
        row[row.length - 1] = e.label();
        p.add(row);
      }
      out.add(p);
    }
    return out;
  }

  private static void assertSameRows(List<List<float[]>> expected, List<List<float[]>> actual) {
    assertEquals(expected.size(), actual.size(), "partitions");
    for (int r = 0; r < expected.size(); r++) {
      assertEquals(expected.get(r).size(), actual.get(r).size(), "rows of partition " + r);
      for (int i = 0; i < expected.get(r).size(); i++) assertArrayEquals(expected.get(r).get(i), actual.get(r).get(i));
    }
  }

  @Test
  void partitionsHoldParallelizesRowsWithoutCarryingThem() throws Exception {
    Dataset train = FashionMnist.load(SUBSET).train();
    List<Example> all = new ArrayList<>();
    int per = train.featureSize();
    for (int i = 0; i < train.size(); i++) {
      all.add(new Example(java.util.Arrays.copyOfRange(train.features(), i * per, (i + 1) * per), train.labels()[i]));
    }
    // The same folder raw: each task then reads its slice from its offset, not through the gzip stream.
    Path raw = Files.createDirectory(dir.resolve("raw"));
    for (String name : new String[] {FashionMnist.FILES[0], FashionMnist.FILES[1]}) {
      Idx.Array a = Idx.read(SUBSET.resolve(name + ".gz"));
      Idx.write(raw.resolve(name), a.dims(), a.data());
    }
    for (int tasks : new int[] {1, 2, 3, 7}) {
      JavaRDD<Example> shipped = sc.parallelize(all, tasks);
      List<List<float[]>> expected = rows(shipped);
      JavaRDD<Example> broadcast = Partitions.of(sc, train, tasks);
      assertSameRows(expected, rows(broadcast));
      for (String uri : new String[] {SUBSET.toUri().toString(), raw.toUri().toString()}) {
        Partitions.IdxRows idx = Partitions.idx(sc, uri, FashionMnist.FILES[0], FashionMnist.FILES[1], tasks);
        assertEquals(784, idx.features());
        JavaRDD<Example> read = idx.rows();
        assertSameRows(expected, rows(read));
        assertTrue(Partitions.partitionBytes(read) < 1024 * tasks, "a slice per partition: "
            + Partitions.partitionBytes(read) + " bytes");
      }
      long inTasks = Partitions.partitionBytes(shipped), notInTasks = Partitions.partitionBytes(broadcast);
      assertTrue(inTasks > train.features().length * 4L, "parallelize carries every row: " + inTasks + " bytes");
      assertTrue(notInTasks < 1024 * tasks, "a rank per partition: " + notInTasks + " bytes");
    }
  }

  @Test
  void badFoldersAreNamed() throws Exception {
    Path folder = Files.createDirectory(dir.resolve("bad"));
    String uri = folder.toUri().toString();
    DataException e = assertThrows(DataException.class,
        () -> Partitions.idx(sc, uri, FashionMnist.FILES[0], FashionMnist.FILES[1], 2));
    assertEquals(uri + ": no " + FashionMnist.FILES[0] + " (nor " + FashionMnist.FILES[0] + ".gz) there", e.getMessage());
    Idx.write(folder.resolve(FashionMnist.FILES[0]), new int[] {3, 2, 2}, new byte[12]);
    Idx.write(folder.resolve(FashionMnist.FILES[1] + ".gz"), new int[] {4}, new byte[4]);
    e = assertThrows(DataException.class, () -> Partitions.idx(sc, uri, FashionMnist.FILES[0], FashionMnist.FILES[1], 2));
    assertEquals("file:" + folder.resolve(FashionMnist.FILES[0]) + " holds 3 images but file:"
        + folder.resolve(FashionMnist.FILES[1]) + ".gz holds 4 labels: the files do not belong together", e.getMessage());
    // A raw file cut short, or with bytes past its data: refused on the driver, before any task reads it.
    Idx.write(folder.resolve(FashionMnist.FILES[1] + ".gz"), new int[] {3}, new byte[3]);
    Path images = folder.resolve(FashionMnist.FILES[0]);
    byte[] bytes = Files.readAllBytes(images);
    Files.write(images, java.util.Arrays.copyOf(bytes, bytes.length - 4));
    e = assertThrows(DataException.class, () -> Partitions.idx(sc, uri, FashionMnist.FILES[0], FashionMnist.FILES[1], 3));
    assertEquals("file:" + images + ": truncated: the header [3, 2, 2] needs 12 bytes of data, the file has 8",
        e.getMessage());
    Files.write(images, java.util.Arrays.copyOf(bytes, bytes.length + 1));
    e = assertThrows(DataException.class, () -> Partitions.idx(sc, uri, FashionMnist.FILES[0], FashionMnist.FILES[1], 3));
    assertTrue(e.getMessage().endsWith("trailing bytes: the header [3, 2, 2] needs 12 bytes of data, the file has 13"),
        e.getMessage());
    // A gzipped file cut short: the task that unpacks it names it.
    Files.write(images, bytes);
    Path labels = folder.resolve(FashionMnist.FILES[1] + ".gz");
    byte[] noise = new byte[3000];
    new java.util.Random(5).nextBytes(noise); // incompressible: half the file is half the labels
    Idx.write(labels, new int[] {3000}, noise);
    Idx.write(images, new int[] {3000, 2, 2}, new byte[12000]);
    byte[] gz = Files.readAllBytes(labels);
    Files.write(labels, java.util.Arrays.copyOf(gz, gz.length / 2));
    Exception failed = assertThrows(Exception.class,
        () -> Partitions.idx(sc, uri, FashionMnist.FILES[0], FashionMnist.FILES[1], 3).rows().count());
    String message = String.valueOf(failed.getMessage());
    assertTrue(message.contains(FashionMnist.FILES[1] + ".gz: corrupt gzip stream")
        || message.contains(FashionMnist.FILES[1] + ".gz: truncated"), message);
  }
}
