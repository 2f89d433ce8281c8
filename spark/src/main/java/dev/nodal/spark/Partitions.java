package dev.nodal.spark;

import dev.nodal.data.DataException;
import dev.nodal.data.Dataset;
import dev.nodal.data.Idx;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.OutputStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.broadcast.Broadcast;

/**
 * Training examples as RDDs whose tasks carry no rows: each partition reads its own rows where it
 * runs, from a file system every executor reaches or from a copy broadcast once per job, so that an
 * epoch's tasks carry the weights alone. Partition {@code r} of {@code p} holds the consecutive
 * examples {@code r·n/p} to {@code (r+1)·n/p}, the slices {@code parallelize} would make of the same
 * rows. Spark recomputes a lost partition the same way, from the files or the broadcast.
 */
public final class Partitions {
  private Partitions() {}

  /** A partition's rows: examples {@code from} (inclusive) to {@code to} (exclusive). */
  record Slice(long from, long to) implements Serializable {
    private static final long serialVersionUID = 1L;

    int count() {
      return (int) (to - from);
    }
  }

  /** The {@code tasks} slices of {@code n} examples. */
  static List<Slice> slices(long n, int tasks) {
    if (tasks < 1) throw new IllegalArgumentException("tasks " + tasks + ": give at least 1");
    List<Slice> out = new ArrayList<>(tasks);
    for (int r = 0; r < tasks; r++) out.add(new Slice(r * n / tasks, (r + 1) * n / tasks));
    return out;
  }

  /**
   * IDX images and their labels in the folder {@code uri} of any Hadoop file system
   * ({@code file:///…}, {@code hdfs://…}, {@code s3a://…}), each file raw or gzipped ({@code name}
   * or {@code name.gz}), as {@code tasks} partitions. The driver reads the two headers only; each
   * task opens both files and reads its own slice (a raw file from its slice's offset; a gzipped one
   * is unpacked up to it). Pixels are divided by 255, as {@code nodal train} reads them.
   */
  public static IdxRows idx(JavaSparkContext sc, String uri, String images, String labels, int tasks)
      throws DataException {
    Configuration conf = sc.hadoopConfiguration();
    String imageFile = find(conf, uri, images), labelFile = find(conf, uri, labels);
    Idx.Header imageHeader = Idx.header(imageFile, open(conf, imageFile));
    Idx.Header labelHeader = Idx.header(labelFile, open(conf, labelFile));
    Idx.checkImagesAndLabels(imageFile, imageHeader, labelFile, labelHeader);
    checkLength(conf, imageFile, imageHeader);
    checkLength(conf, labelFile, labelHeader);
    Broadcast<HadoopConf> shared = sc.broadcast(new HadoopConf(conf));
    JavaRDD<Example> rows = sc.parallelize(slices(imageHeader.count(), tasks), tasks).flatMap(slice -> {
      Configuration c = shared.value().conf;
      Idx.Array x = Idx.readItems(imageFile, open(c, imageFile), slice.from(), slice.count());
      Idx.Array y = Idx.readItems(labelFile, open(c, labelFile), slice.from(), slice.count());
      return examples(x.data(), y.data(), x.itemSize());
    });
    return new IdxRows(rows, imageHeader.itemSize());
  }

  /** The rows of IDX files, and the features of each, known from the header without running a job. */
  public record IdxRows(JavaRDD<Example> rows, int features) {}

  /**
   * A data set in the driver's memory as {@code tasks} partitions, each slice broadcast once: an
   * executor fetches the slices of the partitions it computes, once per job (again only after it lost
   * them), rather than every epoch's tasks carrying the rows. Spark's context cleaner drops the
   * broadcasts once the RDD is no longer referenced on the driver.
   */
  public static JavaRDD<Example> of(JavaSparkContext sc, Dataset data, int tasks) {
    int per = data.featureSize();
    List<Broadcast<float[][]>> parts = new ArrayList<>(tasks);
    for (Slice s : slices(data.size(), tasks)) {
      float[] x = java.util.Arrays.copyOfRange(data.features(), (int) s.from() * per, (int) s.to() * per);
      float[] y = java.util.Arrays.copyOfRange(data.labels(), (int) s.from(), (int) s.to());
      parts.add(sc.broadcast(new float[][] {x, y}));
    }
    List<Integer> ranks = new ArrayList<>(tasks);
    for (int r = 0; r < tasks; r++) ranks.add(r);
    return sc.parallelize(ranks, tasks).flatMap(r -> {
      float[][] part = parts.get(r).value();
      List<Example> out = new ArrayList<>(part[1].length);
      for (int i = 0; i < part[1].length; i++) {
        out.add(new Example(java.util.Arrays.copyOfRange(part[0], i * per, (i + 1) * per), part[1][i]));
      }
      return out.iterator();
    });
  }

  /** Examples of unsigned-byte pixels (over 255) and labels. */
  private static Iterator<Example> examples(byte[] pixels, byte[] labels, int per) {
    List<Example> out = new ArrayList<>(labels.length);
    for (int i = 0; i < labels.length; i++) {
      float[] x = new float[per];
      for (int j = 0; j < per; j++) x[j] = Dataset.pixel(pixels[i * per + j]);
      out.add(new Example(x, labels[i] & 0xff));
    }
    return out.iterator();
  }

  /** The file {@code name}, else {@code name.gz}, in the folder {@code uri}, as a URI; an error names both when neither is there. */
  static String find(Configuration conf, String uri, String name) throws DataException {
    try {
      org.apache.hadoop.fs.Path dir = new org.apache.hadoop.fs.Path(uri);
      FileSystem fs = dir.getFileSystem(conf);
      for (String candidate : new String[] {name, name + ".gz"}) {
        org.apache.hadoop.fs.Path file = new org.apache.hadoop.fs.Path(dir, candidate);
        if (fs.exists(file)) return file.toString();
      }
    } catch (IOException e) {
      throw new DataException(uri + ": cannot list " + name + ": " + e.getMessage(), e);
    }
    throw new DataException(uri + ": no " + name + " (nor " + name + ".gz) there");
  }

  /**
   * A raw (not gzipped) file's length against its header, on the driver: a file cut short or with
   * bytes past its data is refused before any task reads it, as {@link Idx#read} refuses it. A
   * gzipped file is checked by the tasks that unpack it.
   */
  private static void checkLength(Configuration conf, String file, Idx.Header h) throws DataException {
    long length;
    int b0, b1;
    try (java.io.InputStream in = open(conf, file)) {
      b0 = in.read();
      b1 = in.read();
      org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(file);
      length = path.getFileSystem(conf).getFileStatus(path).getLen();
    } catch (DataException e) {
      throw e;
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (b0 == 0x1f && b1 == 0x8b) return;
    long data = length - h.length();
    if (data != h.dataBytes()) {
      throw new DataException(file + ": " + (data < h.dataBytes() ? "truncated" : "trailing bytes") + ": the header "
          + java.util.Arrays.toString(h.dims()) + " needs " + h.dataBytes() + " bytes of data, the file has " + data);
    }
  }

  /** Opens a file of a Hadoop file system; the error names it. */
  static java.io.InputStream open(Configuration conf, String file) throws DataException {
    try {
      org.apache.hadoop.fs.Path path = new org.apache.hadoop.fs.Path(file);
      return path.getFileSystem(conf).open(path);
    } catch (IOException e) {
      throw new DataException(file + ": cannot open: " + e.getMessage(), e);
    }
  }

  /** The IDX file {@code name} (or {@code name.gz}) of the folder {@code uri}, read whole on the driver. */
  static Idx.Array read(JavaSparkContext sc, String uri, String name) throws DataException {
    String file = find(sc.hadoopConfiguration(), uri, name);
    return Idx.read(file, open(sc.hadoopConfiguration(), file));
  }

  /**
   * The bytes the partitions of {@code rdd} take when serialized: what every task of a stage over
   * it carries beside its function, each time the stage runs.
   */
  static long partitionBytes(JavaRDD<?> rdd) {
    long[] count = {0};
    OutputStream counter = new OutputStream() {
      @Override
      public void write(int b) {
        count[0]++;
      }

      @Override
      public void write(byte[] b, int off, int len) {
        count[0] += len;
      }
    };
    try (ObjectOutputStream out = new ObjectOutputStream(counter)) {
      for (org.apache.spark.Partition p : rdd.partitions()) out.writeObject(p);
    } catch (IOException e) {
      return -1; // a partition that does not serialize: Spark will say so itself
    }
    return count[0];
  }

  /** Hadoop's configuration, which is Writable but not Serializable, for the executors. */
  static final class HadoopConf implements Serializable {
    private static final long serialVersionUID = 1L;
    transient Configuration conf;

    HadoopConf(Configuration conf) {
      this.conf = conf;
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
      conf.write(new DataOutputStream(out));
    }

    private void readObject(ObjectInputStream in) throws IOException {
      conf = new Configuration(false);
      conf.readFields(new DataInputStream(in));
    }
  }
}
