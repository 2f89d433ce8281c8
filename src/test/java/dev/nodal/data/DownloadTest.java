package dev.nodal.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The download path against a local HTTP server on the loopback address, serving small files. */
class DownloadTest {
  @TempDir Path dir;
  private HttpServer server;
  private final Map<String, byte[]> served = new LinkedHashMap<>();
  private URI base;

  @BeforeEach
  void start() throws Exception {
    server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
    server.createContext("/", ex -> {
      byte[] body = served.get(ex.getRequestURI().getPath().substring(1));
      if (body == null) {
        ex.sendResponseHeaders(404, -1);
      } else {
        ex.sendResponseHeaders(200, body.length);
        ex.getResponseBody().write(body);
      }
      ex.close();
    });
    server.start();
    base = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/");
  }

  @AfterEach
  void stop() {
    server.stop(0);
  }

  private static String md5(byte[] b) throws Exception {
    return HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(b));
  }

  @Test
  void downloadsVerifiesAndReadsTheFourFiles() throws Exception {
    Path small = TestData.smallFashionMnist();
    Map<String, String> sums = new LinkedHashMap<>();
    for (String f : FashionMnist.FILES) {
      byte[] b = Files.readAllBytes(small.resolve(f + ".gz"));
      served.put(f + ".gz", b);
      sums.put(f + ".gz", md5(b));
    }
    Path cache = dir.resolve("cache");
    FashionMnist.download(base, cache, sums);
    assertTrue(FashionMnist.holds(cache));
    assertArrayEquals(FashionMnist.read(small).train().labels(), FashionMnist.read(cache).train().labels());
  }

  @Test
  void aChecksumMismatchKeepsNothing() throws Exception {
    served.put("f.gz", new byte[] {1, 2, 3});
    Path cache = dir.resolve("cache");
    DataException e = assertThrows(DataException.class,
        () -> FashionMnist.download(base, cache, Map.of("f.gz", "00000000000000000000000000000000")));
    assertTrue(e.getMessage().contains("does not match the published"), e.getMessage());
    try (var files = Files.list(cache)) {
      assertFalse(files.findAny().isPresent(), "no partial or unverified file is left");
    }
  }

  @Test
  void aMissingFileIsReportedWithItsAddress() {
    DataException e = assertThrows(DataException.class,
        () -> FashionMnist.download(base, dir.resolve("c"), Map.of("nope.gz", "x")));
    assertTrue(e.getMessage().contains(base + "nope.gz: HTTP 404"), e.getMessage());
  }
}
