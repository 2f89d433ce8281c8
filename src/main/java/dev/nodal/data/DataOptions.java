package dev.nodal.data;

import java.nio.file.Path;

/**
 * Where {@link FashionMnist} looks for its files and keeps what it downloads, as values.
 * {@link #fromEnvironment()} is the one place where the library reads them from the environment;
 * the command line reads it once, and a program may pass its own instead.
 *
 * @param folder a folder searched after {@code --data} ({@code NODAL_DATA}); null for none (the default)
 * @param cache the folder searched next, into which the files are downloaded when no folder holds
 *     them; default {@code ~/.cache/nodal/fashion-mnist}
 */
public record DataOptions(Path folder, Path cache) {
  /** {@code NODAL_DATA}: a folder that holds the data set. */
  public static final String DATA = "NODAL_DATA";

  public DataOptions {
    if (cache == null) throw new IllegalArgumentException("the download folder is null (DataOptions.defaults() has one)");
  }

  /** No folder of one's own; downloads under {@code ~/.cache/nodal/fashion-mnist}. */
  public static DataOptions defaults() {
    return new DataOptions(null, Path.of(System.getProperty("user.home"), ".cache", "nodal", "fashion-mnist"));
  }

  /** The defaults, with {@link #folder()} from {@code $NODAL_DATA} where it is set and not blank. */
  public static DataOptions fromEnvironment() {
    String env = System.getenv(DATA);
    return defaults().withFolder(env == null || env.isBlank() ? null : Path.of(env));
  }

  public DataOptions withFolder(Path f) {
    return new DataOptions(f, cache);
  }

  public DataOptions withCache(Path c) {
    return new DataOptions(folder, c);
  }
}
