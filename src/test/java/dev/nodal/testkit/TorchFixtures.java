package dev.nodal.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;

/**
 * Reads the PyTorch values that {@code scripts/torch_fixtures.py} committed under
 * {@code src/test/resources/fixtures/}, for the tests that compare against them.
 */
public final class TorchFixtures {
  private TorchFixtures() {}

  /** The fixture file {@code fixtures/<name>}. */
  public static JsonNode load(String name) {
    try (InputStream in = TorchFixtures.class.getResourceAsStream("/fixtures/" + name)) {
      if (in == null) throw new IllegalStateException("fixtures/" + name + " is not on the test class path");
      return new ObjectMapper().readTree(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static float[] floats(JsonNode array) {
    float[] v = new float[array.size()];
    for (int i = 0; i < v.length; i++) v[i] = (float) array.get(i).asDouble();
    return v;
  }

  public static int[] ints(JsonNode array) {
    int[] v = new int[array.size()];
    for (int i = 0; i < v.length; i++) v[i] = array.get(i).asInt();
    return v;
  }

  /** Each case (named by its "name") once on "cpu" and once on "opencl": arguments (backend, case). */
  public static Stream<Arguments> onBothBackends(JsonNode cases) {
    List<Arguments> out = new ArrayList<>();
    for (JsonNode c : cases) {
      for (String backend : List.of("cpu", "opencl")) out.add(Arguments.of(backend, Named.of(c.get("name").asText(), c)));
    }
    return out.stream();
  }

  /**
   * The target t for which {@code MSE(z, t)} has gradient {@code dy} with respect to z
   * ({@code 2(z − t)/n = dy}): how a test feeds PyTorch's upstream gradient into a graph.
   */
  public static float[] mseTargetFor(float[] z, float[] dy) {
    float[] target = new float[z.length];
    for (int i = 0; i < z.length; i++) target[i] = z[i] - dy[i] * z.length / 2f;
    return target;
  }

  /** Equal to PyTorch's float32 values within {@code 2e-6 + 2e-6·|expected|}, element by element. */
  public static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 2e-6 + 2e-6 * Math.abs(expected[i]), what + " at element " + i);
    }
  }
}
