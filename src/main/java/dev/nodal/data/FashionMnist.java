package dev.nodal.data;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLConnection;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds Fashion-MNIST, in this order: {@code --data DIR}, the {@link DataOptions}' folder
 * ({@code $NODAL_DATA}), their cache ({@code ~/.cache/nodal/fashion-mnist}),
 * {@code /usr/share/datasets/fashion-mnist} (Debian's {@code dataset-fashion-mnist}). When none
 * holds the four files, downloads them from the data set's official location into the cache
 * folder, each checked against its published MD5 before it is kept. When that fails too, the error
 * lists every place tried and how to get the data.
 */
public final class FashionMnist {
  private static final Logger log = LoggerFactory.getLogger(FashionMnist.class);

  /** The official location of the files. */
  public static final URI OFFICIAL = URI.create("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/");

  /** The published MD5 of each compressed file (github.com/zalandoresearch/fashion-mnist). */
  public static final Map<String, String> PUBLISHED_MD5 = Map.of(
      "train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
      "train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe",
      "t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79",
      "t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310");

  /** Pixels of one image (28 × 28). */
  public static final int PIXELS = 784;

  public static final String[] FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
      "t10k-labels-idx1-ubyte"};

  public static final int CLASSES = 10;

  private FashionMnist() {}

  /** The training and test sets. */
  public record Splits(Dataset train, Dataset test, Path folder) {}

  /** The folders searched, in order; {@code dataOption} may be null. */
  public static List<Path> searchPath(Path dataOption, DataOptions options) {
    List<Path> places = new ArrayList<>();
    if (dataOption != null) places.add(dataOption);
    if (options.folder() != null) places.add(options.folder());
    places.add(options.cache());
    places.add(Path.of("/usr/share/datasets/fashion-mnist"));
    return places;
  }

  /**
   * {@link #load(Path, DataOptions)} with {@link DataOptions#defaults()}: no folder of one's own
   * ({@code $NODAL_DATA} is read only by {@link DataOptions#fromEnvironment()}).
   */
  public static Splits load(Path dataOption) throws DataException {
    return load(dataOption, DataOptions.defaults());
  }

  /**
   * Reads the data set from {@code dataOption} when given (an explicit folder that lacks any of
   * the four files is an error naming them, never a fallback to another place); else finds it on
   * the search path of {@code options}, or downloads it into their cache.
   */
  public static Splits load(Path dataOption, DataOptions options) throws DataException {
    if (dataOption != null) {
      if (!Files.isDirectory(dataOption)) throw new DataException("--data " + dataOption + ": no such folder");
      List<String> missing = new ArrayList<>();
      for (String f : FILES) if (file(dataOption, f) == null) missing.add(f);
      if (!missing.isEmpty()) {
        throw new DataException("--data " + dataOption + " lacks " + String.join(", ", missing)
            + " (each raw or .gz); it must hold all four Fashion-MNIST files");
      }
      return read(dataOption);
    }
    List<Path> places = searchPath(null, options);
    for (Path p : places) {
      if (holds(p)) return read(p);
    }
    String downloadError;
    try {
      download(OFFICIAL, options.cache(), PUBLISHED_MD5);
      return read(options.cache());
    } catch (DataException e) {
      downloadError = e.getMessage();
    }
    StringBuilder msg = new StringBuilder("Fashion-MNIST not found. Looked for its four files (")
        .append(String.join(", ", FILES)).append(", each raw or .gz) in:");
    for (Path p : places) msg.append("\n  ").append(p);
    msg.append("\nthen tried to download them from ").append(OFFICIAL).append(": ").append(downloadError)
        .append("\nTo get the data: apt-get install dataset-fashion-mnist (Debian/Ubuntu), or download the four .gz files ")
        .append("from ").append(OFFICIAL).append(" into ").append(options.cache()).append(", or pass --data DIR.");
    throw new DataException(msg.toString());
  }

  /** True when the folder has all four files. */
  public static boolean holds(Path folder) {
    for (String f : FILES) if (file(folder, f) == null) return false;
    return true;
  }

  /**
   * Reads the four files of {@code folder}, each from its {@code .gz} where there is one: logs at
   * INFO which files are read, and warns about a raw file that lies ignored beside its {@code .gz}.
   */
  public static Splits read(Path folder) throws DataException {
    Path[] files = new Path[FILES.length];
    for (int i = 0; i < files.length; i++) files[i] = chosen(folder, FILES[i]);
    log.info("Reading Fashion-MNIST from {}: {}", folder,
        String.join(", ", java.util.Arrays.stream(files).map(f -> f.getFileName().toString()).toList()));
    Dataset train = Dataset.fromIdx(files[0], files[1], CLASSES);
    Dataset test = Dataset.fromIdx(files[2], files[3], CLASSES);
    if (test.featureSize() != train.featureSize()) {
      throw new DataException(files[2] + " holds images of " + test.featureSize() + " pixels, but "
          + files[0] + " holds images of " + train.featureSize() + ": the test and training sets do not match");
    }
    return new Splits(train, test, folder);
  }

  /** The file read for {@code base}, its .gz first; a raw file beside that .gz is reported as ignored. */
  private static Path chosen(Path folder, String base) throws DataException {
    Path gz = folder.resolve(base + ".gz"), raw = folder.resolve(base);
    Path read = file(folder, base);
    if (read == null) throw new DataException(folder + " lacks " + base + " (raw or .gz)");
    if (read.equals(gz) && Files.isRegularFile(raw)) {
      log.warn("{} is ignored: {} beside it is read instead (a .gz is preferred){}", raw, gz.getFileName(),
          idxMagic(raw) ? "; delete the one that is wrong if they differ"
              : ", and it is not an IDX file anyway (its first bytes are not an IDX header)");
    }
    return read;
  }

  /** True when the file starts as an IDX file of unsigned bytes does: 0, 0, 8, a rank from 1 to 3. */
  private static boolean idxMagic(Path file) {
    try (InputStream in = Files.newInputStream(file)) {
      byte[] head = in.readNBytes(4);
      return head.length == 4 && head[0] == 0 && head[1] == 0 && head[2] == 8 && head[3] >= 1 && head[3] <= 3;
    } catch (IOException e) {
      return false;
    }
  }

  private static Path file(Path folder, String base) {
    for (String name : new String[] {base + ".gz", base}) {
      Path p = folder.resolve(name);
      if (Files.isRegularFile(p)) return p;
    }
    return null;
  }

  /**
   * Downloads every file of {@code md5} from {@code base} into {@code folder}. Each file is
   * written to a temporary name, checked, flushed to disk and only then renamed; a file that
   * fails its checksum is deleted and reported.
   */
  public static void download(URI base, Path folder, Map<String, String> md5) throws DataException {
    try {
      Files.createDirectories(folder);
    } catch (IOException e) {
      throw new DataException("cannot create " + folder + ": " + e.getMessage(), e);
    }
    for (Map.Entry<String, String> f : new LinkedHashMap<>(md5).entrySet()) {
      Path target = folder.resolve(f.getKey());
      if (Files.exists(target)) continue;
      URI uri = base.resolve(f.getKey());
      Path tmp = folder.resolve(f.getKey() + ".part");
      log.info("Downloading {} to {}", uri, folder);
      try {
        String actual = fetch(uri, tmp);
        if (!actual.equalsIgnoreCase(f.getValue())) {
          throw new DataException(uri + ": MD5 " + actual + " does not match the published " + f.getValue());
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } catch (DataException e) {
        throw e;
      } catch (IOException e) {
        throw new DataException(uri + ": " + e, e);
      } finally {
        try {
          Files.deleteIfExists(tmp);
        } catch (IOException ignored) {
          // best effort: a stale .part is overwritten by the next try
        }
      }
    }
  }

  private static String fetch(URI uri, Path to) throws IOException {
    URLConnection c = uri.toURL().openConnection();
    c.setConnectTimeout(15_000);
    c.setReadTimeout(60_000);
    if (c instanceof HttpURLConnection h && h.getResponseCode() != 200) {
      throw new DataException(uri + ": HTTP " + h.getResponseCode());
    }
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("MD5");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
    try (InputStream in = new DigestInputStream(c.getInputStream(), md);
        OutputStream out = Files.newOutputStream(to)) {
      in.transferTo(out);
    }
    try (FileChannel ch = FileChannel.open(to, StandardOpenOption.WRITE)) {
      ch.force(true);
    }
    return HexFormat.of().formatHex(md.digest());
  }
}
