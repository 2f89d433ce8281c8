package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.testkit.OpSamples;
import dev.nodal.testkit.OpSamples.Sample;
import dev.nodal.testkit.CatalogueSamples;
import dev.nodal.testkit.OpenClTests;
import java.util.HashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every node type, forward and backward, on OpenCL against the CPU backend, on the parity samples
 * of its {@link OpSamples} entry: sizes that straddle work-group and tile sizes
 * ({@link OpSamples#STRADDLE}) in every dimension a kernel tiles. The graphs are
 * {@link CatalogueSamples#graph}'s; tolerances are {@link Parity}'s, per op family.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpParityTest {
  private Backend device;
  private final Backend cpu = Backends.cpu();

  @BeforeAll
  void open() {
    device = OpenClTests.backend();
  }

  @AfterAll
  void close() {
    if (device != null) device.close();
  }

  static Stream<Named<Sample>> samples() {
    return CatalogueSamples.paritySamples();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("samples")
  void parity(Sample s) {
    Map<String, float[]> inputs = new HashMap<>();
    Graph graph = CatalogueSamples.graph(s, inputs);
    Parity.Report r = Parity.compare(graph, device, cpu, inputs);
    assertTrue(r.ok(), s + "\n" + r.format());
  }

  static Stream<Named<Sample>> modalSamples() {
    return CatalogueSamples.paritySamples().filter(n -> n.getPayload().op().dependsOnMode());
  }

  /** Ops that compute differently in evaluation mode, compared there too. */
  @ParameterizedTest(name = "{0}")
  @MethodSource("modalSamples")
  void parityInEvaluationMode(Sample s) {
    Map<String, float[]> inputs = new HashMap<>();
    Graph graph = CatalogueSamples.graph(s, inputs);
    Parity.Report r = Parity.compare(graph, device, cpu, inputs, false);
    assertTrue(r.ok(), s + " (evaluation mode)\n" + r.format());
  }
}
