package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.nodal.cli.Main;
import dev.nodal.testkit.ChildJvm;
import dev.nodal.testkit.OpenClTests;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.opentest4j.AssertionFailedError;
import org.slf4j.LoggerFactory;

/**
 * A bad gemm tiling, from {@code $NODAL_GEMM} or from the tuning cache, never stops OpenCL work:
 * each is left out with one warning that names where it came from (NODAL_GEMM, or the file and
 * the entry), the device choosing its own tiles instead; {@code nodal tune} replaces a cache it
 * cannot use with its results. The device's limits here are the ones passed in (a device of 256
 * work-items and 32 KiB of local memory), not those of the machine's OpenCL device.
 */
class GemmSettingsFuzzTest {
  @TempDir Path dir;

  private static final DeviceInfo DEVICE = new DeviceInfo(0, 0, null, null, "test platform", "OpenCL 3.0", "test device",
      "vendor", "GPU", "OpenCL 3.0", "1.0", "OpenCL C 1.2", 8, 1L << 30, 32 << 10, 1L << 28, 256, false, true, 1024);
  private static final String KEY = GemmTuner.deviceKey(DEVICE);
  private static final String GOOD = "32,32,16,2,2";

  /** Values of NODAL_GEMM (or of a cache entry) that a device of 256 work-items and 32 KiB of local memory cannot use. */
  static final List<String> BAD_TILES = List.of(
      // zero and negative sides and work per item
      "0,32,16,2,2", "32,0,16,2,2", "32,32,0,2,2", "32,32,16,0,2", "32,32,16,2,0", "-32,32,16,2,2", "32,-32,16,2,2",
      "32,32,-16,2,2", "32,32,16,-2,2", "32,32,16,2,-2", "-32,-32,-16,-2,-2",
      // huge
      "99999999999,32,16,2,2", "2147483647,32,16,1,1", "4096,4096,16,4,4", "32,32,16,2147483647,2", "64,64,16,32,2",
      "1024,1024,1024,16,16",
      // not numbers
      "abc", "32,32,16,2,x", "32.0,32,16,2,2", "32,32,16,2,2e0", "0x20,32,16,2,2", "NaN,32,16,2,2", " , , , , ",
      // wrong arity
      "32", "32,32", "32,32,16,2", "32,32,16,2,2,4", "32,32,16,2,2,4,1,0", "32,32,16,2,2,", ",32,32,16,2,2",
      // more work-items than the device's 256
      "128,128,16,2,2", "32,32,16,1,1", "64,64,16,2,2", "256,16,16,1,1",
      // more local memory than the device's 32 KiB
      "128,128,32,8,8", "64,64,64,4,4", "128,128,16,8,8,4,1",
      // not divisible, or loads and buffering the kernel does not have
      "32,32,16,3,2", "32,32,16,2,3", "30,32,16,4,2", "32,32,6,2,2,4,0", "32,34,16,2,2,4,0", "32,32,16,2,2,3,0",
      "32,32,16,2,2,8,0", "32,32,16,2,2,4,2", "32,32,16,2,2,4,-1");

  /** Tuning caches that cannot be used as a whole, by what they are. */
  private static Map<String, String> badFiles() {
    String valid = "{\n  \"" + KEY + "\" : {\n    \"4x256x1024x1\" : \"" + GOOD + "\"\n  }\n}\n";
    Map<String, String> m = new LinkedHashMap<>();
    m.put("empty", "");
    m.put("blank", "  \n");
    m.put("an array", "[]");
    m.put("a string", "\"x\"");
    m.put("a number", "42");
    m.put("null", "null");
    m.put("a boolean", "true");
    m.put("an open brace", "{");
    m.put("a key without value", "{\"a\":");
    m.put("truncated", valid.substring(0, valid.length() / 2));
    m.put("truncated in a string", valid.substring(0, valid.indexOf("32,32")));
    m.put("not json", "not json");
    m.put("binary", "\u0000\u00ff\u00fe");
    m.put("device entry an array", "{\"" + KEY + "\": []}");
    m.put("device entry a string", "{\"" + KEY + "\": \"" + GOOD + "\"}");
    m.put("device entry a number", "{\"" + KEY + "\": 5}");
    m.put("device entry null", "{\"" + KEY + "\": null}");
    return m;
  }

  /** Device entries with one unusable entry beside a good one, by what is wrong. */
  private static Map<String, String> badEntries() {
    Map<String, String> m = new LinkedHashMap<>();
    for (String bad : BAD_TILES) m.put("tiles " + bad, "\"8x8x8x1\": \"" + bad + "\"");
    m.put("tiles a number", "\"8x8x8x1\": 32");
    m.put("tiles an array", "\"8x8x8x1\": [32, 32, 16, 2, 2]");
    m.put("tiles an object", "\"8x8x8x1\": {}");
    m.put("tiles null", "\"8x8x8x1\": null");
    m.put("class a word", "\"big\": \"" + GOOD + "\"");
    m.put("class not powers of two", "\"3x3x3x3\": \"" + GOOD + "\"");
    m.put("class of three", "\"1x1x1\": \"" + GOOD + "\"");
    m.put("class empty", "\"\": \"" + GOOD + "\"");
    return m;
  }

  private record Run<T>(T value, List<String> warnings) {}

  /** Runs {@code body} within 10 s, keeping GemmTuner's warnings. */
  private static <T> Run<T> withWarnings(Supplier<T> body) {
    Logger logger = (Logger) LoggerFactory.getLogger(GemmTuner.class);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    logger.addAppender(seen);
    try {
      T value = Assertions.assertTimeoutPreemptively(Duration.ofSeconds(10), body::get);
      return new Run<>(value, seen.list.stream().filter(e -> e.getLevel() == Level.WARN)
          .map(ILoggingEvent::getFormattedMessage).toList());
    } finally {
      logger.detachAppender(seen);
    }
  }

  /** Tallies of a loop: each case ends with one clear warning, a hang, an internal error or something else. */
  private static final class Tally {
    int cases, warned, hangs, internal;
    final List<String> failures = new ArrayList<>();

    void run(String name, Runnable check) {
      cases++;
      try {
        check.run();
        warned++;
      } catch (AssertionFailedError e) {
        if (String.valueOf(e.getMessage()).contains("execution timed out")) hangs++;
        failures.add(name + ": " + e.getMessage());
      } catch (RuntimeException e) {
        internal++;
        failures.add(name + ": internal error " + e);
      }
    }

    void check(String what, int atLeast) {
      System.out.printf("%s: %d cases, %d left out with one warning, %d hangs, %d internal errors%n", what, cases, warned,
          hangs, internal);
      assertTrue(failures.isEmpty(), String.join("\n", failures));
      assertEquals(0, hangs);
      assertEquals(0, internal);
      assertEquals(cases, warned);
      assertTrue(cases >= atLeast, what + ": " + cases + " cases");
    }
  }

  @Test
  void badTilingsAreLeftOutWithOneWarningNamingWhereTheyCameFrom() throws Exception {
    Tally tally = new Tally();
    for (String bad : BAD_TILES) {
      tally.run("NODAL_GEMM=" + bad, () -> {
        Run<GemmConfig> r = withWarnings(() -> GemmTuner.override(bad, DEVICE));
        assertNull(r.value(), bad);
        assertEquals(1, r.warnings().size(), bad + ": " + r.warnings());
        String w = r.warnings().get(0);
        assertTrue(w.startsWith("NODAL_GEMM='" + bad + "' ignored: ") && w.contains("Fix:"), w);
        assertFalse(w.contains("Exception") || w.contains("For input string"), w);
      });
    }
    Map<String, String> files = badFiles();
    for (Map.Entry<String, String> f : files.entrySet()) {
      tally.run("cache " + f.getKey(), () -> checkCache(f.getKey(), f.getValue(), null));
    }
    for (Map.Entry<String, String> e : badEntries().entrySet()) {
      String text = "{\"other device\": {\"8x8x8x1\": \"anything\"}, \"" + KEY + "\": {" + e.getValue()
          + ", \"4x256x1024x1\": \"" + GOOD + "\"}}";
      String entry = e.getValue().substring(1, e.getValue().indexOf('"', 1));
      tally.run("cache entry " + e.getKey(), () -> checkCache(e.getKey(), text, entry));
    }
    tally.check("malformed NODAL_GEMM values and tuning caches", 100);

    // The good ones still count.
    assertEquals(new GemmConfig(32, 32, 16, 2, 2), GemmTuner.override(" 32, 32, 16, 2, 2 ", DEVICE));
    assertNull(GemmTuner.override("", DEVICE));
    assertNull(GemmTuner.override(null, DEVICE));
  }

  /**
   * Loads {@code text} as a cache: one warning naming the file (and {@code entry} when given);
   * the good entry kept when the rest is whole; and the contents {@code nodal tune} would write
   * from it are valid, hold its results and drop what could not be used.
   */
  private void checkCache(String name, String text, String entry) {
    try {
      Path file = dir.resolve("cache-" + name.replaceAll("[^A-Za-z0-9]+", "-") + ".json");
      Files.writeString(file, text);
      Run<Map<String, GemmConfig>> r = withWarnings(() -> GemmTuner.load(file, DEVICE));
      assertEquals(1, r.warnings().size(), name + ": " + r.warnings());
      String w = r.warnings().get(0);
      assertTrue(w.startsWith("gemm tuning cache " + file) && w.contains("Fix:"), w);
      assertFalse(w.contains("Exception"), w);
      if (entry != null) {
        assertTrue(w.contains("entry \"" + entry + "\""), w);
        assertEquals(Map.of("4x256x1024x1", new GemmConfig(32, 32, 16, 2, 2)), r.value(), name);
      } else {
        assertTrue(r.value().isEmpty(), name);
      }
      GemmTuner.Result result = new GemmTuner.Result(new GemmTuner.Shape(8, 8, 8, 1), new GemmConfig(32, 32, 16, 2, 2), 1,
          new GemmConfig(32, 32, 16, 4, 4), 0.5, 2);
      byte[] written = Assertions.assertTimeoutPreemptively(Duration.ofSeconds(10),
          () -> GemmTuner.withResults(GemmTuner.read(file, DEVICE), DEVICE, List.of(result)));
      var root = new ObjectMapper().readTree(written);
      assertEquals("32,32,16,4,4", root.path(KEY).path("8x8x8x1").asText(), new String(written, StandardCharsets.UTF_8));
      if (entry != null) {
        assertEquals(GOOD, root.path(KEY).path("4x256x1024x1").asText(), "the good entry is kept");
        assertEquals("anything", root.path("other device").path("8x8x8x1").asText(), "other devices' entries are theirs");
        if (!entry.equals("8x8x8x1")) assertFalse(root.path(KEY).has(entry), "the unusable entry is dropped");
      }
      Files.write(file, written);
      assertTrue(withWarnings(() -> GemmTuner.load(file, DEVICE)).warnings().isEmpty(), "what tune writes reads cleanly");
    } catch (java.io.IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
  }

  /**
   * Through the command line on the machine's OpenCL device: parity with a tile of 0, negative
   * tiles, a work per item of 0 or tiles that fit no device, as NODAL_GEMM or as the cache entry of
   * the product parity runs, ends within the time limit, passes, and warns once.
   */
  @Test
  void parityRunsWithBadTilesInTheEnvironmentOrTheCache() throws Exception {
    String selector = OpenClTests.selector();
    String deviceKey;
    try (OpenClBackend backend = (OpenClBackend) OpenClTests.backend()) {
      deviceKey = GemmTuner.deviceKey(backend.device());
    }
    String firstLayer = GemmConfig.shapeClass(4, 256, 784, 1);
    int cases = 0, passed = 0, hangs = 0, internal = 0;
    List<String> failures = new ArrayList<>();
    for (String bad : List.of("32,32,0,2,2", "32,32,-16,2,2", "32,32,16,0,2", "1024,1024,1024,16,16")) {
      for (boolean inCache : new boolean[] {false, true}) {
        cases++;
        Path cacheDir = Files.createDirectories(dir.resolve("cache-" + cases));
        Map<String, String> env = new HashMap<>(Map.of("NODAL_CACHE_DIR", cacheDir.toString()));
        if (inCache) {
          Files.writeString(cacheDir.resolve("gemm-tuning.json"), "{\"" + deviceKey.replace("\"", "\\\"") + "\": {\""
              + firstLayer + "\": \"" + bad + "\"}}");
          env.put("NODAL_GEMM", null);
        } else {
          env.put("NODAL_GEMM", bad);
        }
        String name = (inCache ? "cache entry " : "NODAL_GEMM=") + bad;
        try {
          ChildJvm.Result r = ChildJvm.run(Main.class, env, 60, "parity", "--device", selector, "--batch", "4");
          long warnings = r.output().lines().filter(l -> l.contains("WARN")
              && l.contains(inCache ? "gemm tuning cache" : "NODAL_GEMM='" + bad + "' ignored")).count();
          if (r.output().contains("internal error")) {
            internal++;
            failures.add(name + ": " + r.output());
          } else if (r.exitCode() != 0 || warnings != 1) {
            failures.add(name + ": exit " + r.exitCode() + ", " + warnings + " warnings:\n" + r.output());
          } else {
            passed++;
          }
        } catch (AssertionError e) {
          hangs++;
          failures.add(name + ": " + e.getMessage());
        }
      }
    }
    System.out.printf("parity with bad gemm tiles: %d runs, %d passed with one warning, %d hangs, %d internal errors%n",
        cases, passed, hangs, internal);
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    assertEquals(0, hangs);
    assertEquals(0, internal);
    assertEquals(cases, passed);
  }

  /**
   * {@code nodal tune} reads the cache before measuring: one it cannot use (of the wrong shape,
   * empty, truncated, or with an entry the device cannot run) is replaced with the results, and
   * tune says so; the results are never lost.
   */
  @Test
  void tuneReplacesACacheItCannotUse() throws Exception {
    String selector = OpenClTests.selector();
    Map<String, String> caches = new LinkedHashMap<>();
    caches.put("an array", "[]");
    caches.put("empty", "");
    caches.put("a string", "\"x\"");
    caches.put("truncated", "{\"a\": {\"8x8x8x1\": \"32,32");
    int cases = 0, replaced = 0;
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, String> c : caches.entrySet()) {
      cases++;
      Path cache = Files.writeString(dir.resolve("tune-" + cases + ".json"), c.getValue());
      AtomicReference<String> printed = new AtomicReference<>();
      int code = Assertions.assertTimeoutPreemptively(Duration.ofSeconds(300), () -> {
        PrintStream out = System.out, err = System.err;
        ByteArrayOutputStream buf = new ByteArrayOutputStream();
        PrintStream capture = new PrintStream(buf, true, StandardCharsets.UTF_8);
        System.setOut(capture);
        System.setErr(capture);
        try {
          return Main.run("tune", "--device", selector, "--model", "mlp", "--batch-size", "8", "--max-candidates", "0",
              "--repeats", "1", "--cache", cache.toString());
        } finally {
          System.setOut(out);
          System.setErr(err);
          printed.set(buf.toString(StandardCharsets.UTF_8));
        }
      });
      String text = printed.get();
      String written = Files.readString(cache);
      boolean ok = code == 0 && text.contains("gemm tuning cache " + cache) && text.contains("this run's results replace it")
          && text.contains("replacing what it held that could not be used") && !text.contains("internal error")
          && GemmTuner.read(cache, DEVICE).problems().isEmpty() && written.contains("8x256x1024x1");
      if (ok) replaced++;
      else failures.add(c.getKey() + ": exit " + code + "\n" + text + "\nwritten:\n" + written);
    }
    System.out.printf("tune over caches it cannot use: %d runs, %d replaced with their results%n", cases, replaced);
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    assertEquals(cases, replaced);
  }
}
