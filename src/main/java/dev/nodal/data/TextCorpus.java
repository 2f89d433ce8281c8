package dev.nodal.data;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import java.util.function.IntFunction;
import java.util.stream.Stream;

/**
 * A UTF-8 text for a byte-level language model: its bytes are the tokens (vocabulary 256). The
 * last tenth is held out for validation, the rest trains. Read from a file, or from a folder's
 * regular files in sorted order (symbolic links and {@code .dat} index files skipped, as in
 * Debian's {@code /usr/share/games/fortunes}), joined into one text.
 *
 * <p>Refused, with the file named: an empty text, a binary one (a NUL byte, or more than
 * {@link #MAX_INVALID_SHARE} of its bytes outside well-formed UTF-8), and one too short for the
 * context length (either part must hold a window of {@code context + 1} bytes).
 */
public final class TextCorpus {
  /** Byte tokens. */
  public static final int VOCAB = 256;

  /** The largest share of a file's bytes that may lie outside well-formed UTF-8. */
  public static final double MAX_INVALID_SHARE = 0.01;

  /** The folders searched when no {@code --data} is given: Debian's (and Fedora's) fortunes. */
  public static final List<Path> SEARCH_PATH = List.of(Path.of("/usr/share/games/fortunes"), Path.of("/usr/share/fortune"));

  /** How many windows of the held-out bytes an evaluation reads at most. */
  public static final int EVAL_WINDOWS = 256;

  private final String source;
  private final byte[] bytes;
  private final int trainBytes;

  private TextCorpus(String source, byte[] bytes, int context) throws DataException {
    if (context < 1) throw new IllegalArgumentException("context must be at least 1, got " + context);
    this.source = source;
    this.bytes = bytes;
    this.trainBytes = bytes.length - bytes.length / 10;
    int shortest = Math.min(trainBytes, bytes.length - trainBytes);
    if (shortest < context + 1) {
      throw new DataException(source + ": " + bytes.length + " bytes of text are too short for context " + context
          + ": its training part (90%) and its validation part (10%) must each hold " + (context + 1)
          + " bytes, so at least " + minimumBytes(context) + " bytes are needed");
    }
  }

  /** The fewest bytes whose two parts each hold a window of {@code context + 1} bytes. */
  static long minimumBytes(int context) {
    return 10L * (context + 1);
  }

  /** Where the text came from, as its messages name it. */
  public String source() {
    return source;
  }

  /** All bytes, training part first. */
  public int size() {
    return bytes.length;
  }

  /** The bytes that train: the first 90% (rounded up). */
  public int trainBytes() {
    return trainBytes;
  }

  /** The held-out bytes: the last 10% (rounded down). */
  public int validationBytes() {
    return bytes.length - trainBytes;
  }

  /** The byte at {@code i} of the whole text, as a token in [0, 256). */
  public int token(int i) {
    return bytes[i] & 0xff;
  }

  /**
   * The text of {@code --data} when given (a file, or a folder of files), else the first folder of
   * {@link #SEARCH_PATH} that exists; the error lists the places tried and how to get the text.
   */
  public static TextCorpus load(Path dataOption, int context) throws DataException {
    return load(dataOption, context, SEARCH_PATH);
  }

  /** {@link #load(Path, int)} with its own folders to search. */
  static TextCorpus load(Path dataOption, int context, List<Path> searchPath) throws DataException {
    if (dataOption != null) {
      if (!Files.exists(dataOption)) throw new DataException("--data " + dataOption + ": no such file or folder");
      return read(dataOption, context);
    }
    for (Path p : searchPath) if (Files.isDirectory(p)) return read(p, context);
    StringBuilder msg = new StringBuilder("No text to train on. Looked for Debian's fortunes in:");
    for (Path p : searchPath) msg.append("\n  ").append(p);
    msg.append("\nTo get them: apt-get install fortunes (Debian/Ubuntu), or pass --data FILE|DIR with any UTF-8 text.");
    throw new DataException(msg.toString());
  }

  /** The text of a file, or of a folder's regular files in sorted order (no {@code .dat} files). */
  public static TextCorpus read(Path fileOrFolder, int context) throws DataException {
    List<Path> files = files(fileOrFolder);
    if (files.isEmpty()) throw new DataException(fileOrFolder + ": the folder holds no text files");
    ByteArrayOutputStream all = new ByteArrayOutputStream();
    for (Path f : files) {
      byte[] b;
      try {
        b = Files.readAllBytes(f);
      } catch (IOException e) {
        throw new DataException(f + ": cannot read: " + e.getMessage(), e);
      }
      checkText(f.toString(), b);
      all.writeBytes(b);
    }
    String source = files.size() == 1 ? files.get(0).toString() : fileOrFolder + " (" + files.size() + " files)";
    return new TextCorpus(source, all.toByteArray(), context);
  }

  /** A text given as bytes, named {@code source} in messages; checked as a file is. */
  public static TextCorpus of(String source, byte[] text, int context) throws DataException {
    checkText(source, text);
    return new TextCorpus(source, text.clone(), context);
  }

  private static List<Path> files(Path fileOrFolder) throws DataException {
    if (!Files.isDirectory(fileOrFolder)) return List.of(fileOrFolder);
    try (Stream<Path> list = Files.list(fileOrFolder)) {
      return list.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
          .filter(p -> !p.getFileName().toString().endsWith(".dat")).sorted().toList();
    } catch (IOException | UncheckedIOException e) {
      throw new DataException(fileOrFolder + ": cannot list the folder: " + e.getMessage(), e);
    }
  }

  /** Refuses an empty or binary text, naming {@code source}. */
  private static void checkText(String source, byte[] b) throws DataException {
    if (b.length == 0) throw new DataException(source + ": the text is empty");
    for (int i = 0; i < b.length; i++) {
      if (b[i] == 0) throw new DataException(source + ": a NUL byte at offset " + i + "; this is a binary file, not text");
    }
    long invalid = invalidUtf8(b);
    if (invalid > MAX_INVALID_SHARE * b.length) {
      throw new DataException(String.format(Locale.ROOT, "%s: %d of its %d bytes (%.1f%%) are not UTF-8; "
          + "this looks like a binary file, not text (at most %.0f%% may be)", source, invalid, b.length,
          100.0 * invalid / b.length, 100 * MAX_INVALID_SHARE));
    }
  }

  /** How many bytes of {@code b} are not part of a well-formed UTF-8 sequence. */
  static long invalidUtf8(byte[] b) {
    long invalid = 0;
    for (int i = 0; i < b.length; ) {
      int lead = b[i] & 0xff, len = lead < 0x80 ? 1 : lead >= 0xc2 && lead < 0xe0 ? 2 : lead >= 0xe0 && lead < 0xf0 ? 3
          : lead >= 0xf0 && lead < 0xf5 ? 4 : 0;
      boolean ok = len > 0 && i + len <= b.length;
      for (int k = 1; ok && k < len; k++) ok = (b[i + k] & 0xc0) == 0x80;
      if (ok && len == 3) {
        int second = b[i + 1] & 0xff;
        ok = !(lead == 0xe0 && second < 0xa0) && !(lead == 0xed && second >= 0xa0); // overlong, surrogate
      } else if (ok && len == 4) {
        int second = b[i + 1] & 0xff;
        ok = !(lead == 0xf0 && second < 0x90) && !(lead == 0xf4 && second >= 0x90); // overlong, past U+10FFFF
      }
      if (ok) {
        i += len;
      } else {
        invalid++;
        i++;
      }
    }
    return invalid;
  }

  /**
   * Training batches of {@code batchSize} windows of {@code context + 1} bytes at seeded random
   * offsets of the training part: features are the first {@code context} bytes of each window (token
   * ids), labels the next byte at each position. Epoch e draws its {@code steps} batches from a
   * generator seeded by {@code seed} and e only. With {@code steps} 0, an epoch has as many steps as
   * it takes to draw about the training part's bytes once.
   */
  public Batches training(int context, int batchSize, long seed, int steps) {
    checkContext(context);
    if (batchSize < 1) throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
    if (steps < 0) throw new IllegalArgumentException("steps per epoch must be at least 0, got " + steps);
    int perEpoch = steps > 0 ? steps : (int) Math.max(1, Math.min(Integer.MAX_VALUE,
        (long) trainBytes / ((long) batchSize * context)));
    return Batches.of(perEpoch, epoch -> {
      SplittableRandom random = new SplittableRandom(seed * 1_000_003L + epoch);
      int[] starts = new int[batchSize];
      return batches(perEpoch, batchSize, context, b -> {
        for (int i = 0; i < batchSize; i++) starts[i] = random.nextInt(trainBytes - context);
        return starts;
      });
    });
  }

  /**
   * The held-out windows an evaluation reads: at most {@link #EVAL_WINDOWS} windows of
   * {@code context + 1} bytes spread evenly over the validation part, from its first byte to its
   * last, in batches of at most {@code batchSize}. Always the same windows.
   */
  public Batches validation(int context, int batchSize) {
    checkContext(context);
    int windows = Math.max(1, Math.min(EVAL_WINDOWS, (validationBytes() - 1) / context));
    int span = validationBytes() - context - 1; // the last start
    int[] starts = new int[windows];
    for (int i = 0; i < windows; i++) starts[i] = trainBytes + (windows == 1 ? 0 : (int) ((long) span * i / (windows - 1)));
    int count = (windows + batchSize - 1) / batchSize;
    return Batches.of(count, epoch -> batches(count, batchSize, context,
        b -> Arrays.copyOfRange(starts, b * batchSize, Math.min(windows, (b + 1) * batchSize))));
  }

  private void checkContext(int context) {
    if (context < 1 || validationBytes() < context + 1) {
      throw new IllegalArgumentException(source + ": context " + context + " does not fit the text's parts ("
          + trainBytes + " and " + validationBytes() + " bytes)");
    }
  }

  /** {@code count} batches, batch b of the windows that start at {@code starts.apply(b)}. */
  private Iterator<BatchLoader.Batch> batches(int count, int batchSize, int context,
      IntFunction<int[]> starts) {
    return new Iterator<>() {
      private int next;

      @Override
      public boolean hasNext() {
        return next < count;
      }

      @Override
      public BatchLoader.Batch next() {
        if (!hasNext()) throw new NoSuchElementException();
        int[] s = starts.apply(next++);
        int n = Math.min(batchSize, s.length);
        float[] ids = new float[n * context], targets = new float[n * context];
        for (int i = 0; i < n; i++) {
          for (int t = 0; t < context; t++) {
            ids[i * context + t] = bytes[s[i] + t] & 0xff;
            targets[i * context + t] = bytes[s[i] + t + 1] & 0xff;
          }
        }
        return new BatchLoader.Batch(ids, targets, n);
      }
    };
  }
}
