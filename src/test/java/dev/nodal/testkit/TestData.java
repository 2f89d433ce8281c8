package dev.nodal.testkit;

import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded test tensors, and the small Fashion-MNIST subset the tests ship. */
public final class TestData {
  private TestData() {}

  private static final List<String> SMALL_FILES = List.of("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
      "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");
  private static Path small;

  /**
   * The folder of the Fashion-MNIST subset in the test resources: the folder itself when the
   * resources are files, else (from the test jar) a copy in a temporary folder, made once.
   */
  public static synchronized Path smallFashionMnist() {
    if (small != null) return small;
    URL url = TestData.class.getResource("/fashion-mnist-small/" + SMALL_FILES.get(0));
    if (url == null) throw new IllegalStateException("fashion-mnist-small is not on the class path");
    try {
      if (url.getProtocol().equals("file")) return small = Path.of(url.toURI()).getParent();
      Path copy = Files.createTempDirectory("nodal-fashion-mnist-small");
      copy.toFile().deleteOnExit(); // registered first, deleted last: after its files
      for (String name : SMALL_FILES) {
        try (InputStream in = TestData.class.getResourceAsStream("/fashion-mnist-small/" + name)) {
          Files.copy(in, copy.resolve(name));
        }
        copy.resolve(name).toFile().deleteOnExit();
      }
      return small = copy;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /**
   * Values in ±[0.1, 1): away from zero, so that ReLU's kink is never within a finite-difference
   * step of an input.
   */
  public static float[] awayFromZero(int n, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) ((0.1 + 0.9 * r.nextDouble()) * (r.nextBoolean() ? 1 : -1));
    return v;
  }

  public static CpuTensor tensor(long seed, int... dims) {
    Shape s = Shape.of(dims);
    return new CpuTensor(awayFromZero(s.size(0), seed), s);
  }

  /** Class indices in [0, classes), stored as floats. */
  public static CpuTensor labels(long seed, int n, int classes) {
    return labels(seed, classes, new int[] {n});
  }

  /** Class indices in [0, classes) of the given shape, stored as floats. */
  public static CpuTensor labels(long seed, int classes, int[] dims) {
    Shape shape = Shape.of(dims);
    SplittableRandom r = new SplittableRandom(seed);
    float[] v = new float[shape.size(0)];
    for (int i = 0; i < v.length; i++) v[i] = r.nextInt(classes);
    return new CpuTensor(v, shape);
  }
}
