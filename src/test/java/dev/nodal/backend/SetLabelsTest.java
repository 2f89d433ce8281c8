package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.GraphException;
import dev.nodal.graph.Init;
import dev.nodal.graph.Input;
import dev.nodal.ops.Layers;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.parallel.DataParallelBackend;
import dev.nodal.testkit.OpenClTests;
import java.util.List;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@code Session.setLabels(labels, int[])}: class indices as PyTorch's {@code int64} targets, on
 * every kind of session, the same as {@code setInput} with the indices as floats; a wrong input or
 * an index out of range is refused, naming it, and leaves the input unset.
 */
class SetLabelsTest {

  private static Backend open(String kind) {
    return switch (kind) {
      case "cpu" -> Backends.cpu();
      case "opencl" -> OpenClTests.backend();
      case "data-parallel" -> new DataParallelBackend(List.of(Backends.cpu(), Backends.cpu()));
      default -> throw new IllegalArgumentException(kind);
    };
  }

  @ParameterizedTest
  @ValueSource(strings = {"cpu", "opencl", "data-parallel"})
  void classIndicesAsIntsAreTheLabelsAsFloats(String kind) {
    GraphBuilder g = new GraphBuilder(3);
    Input x = g.input("x", 4), y = g.labels("y", 3);
    Graph graph = g.build(g.apply(new SoftmaxCrossEntropy(), "loss", Layers.dense(g, "fc", x, 3, Init.xavier()), y));
    float[] features = {0.5f, -1, 2, 0.25f, 1, 1, -0.5f, 0, -2, 0.75f, 0.5f, 1};
    try (Backend backend = open(kind); Session ints = backend.compile(graph, CompileOptions.maxBatch(4));
        Session floats = backend.compile(graph, CompileOptions.maxBatch(4))) {
      ints.setInput(x, features);
      ints.setLabels(y, new int[] {2, 0, 1});
      floats.setInput(x, features);
      floats.setInput(y, new float[] {2, 0, 1});
      assertArrayEquals(floats.value(y), ints.value(y));
      ints.forward();
      floats.forward();
      assertEquals(floats.loss(), ints.loss(), 0f);

      String refused = refusal(() -> ints.setLabels(y, new int[] {0, 3, 1}));
      assertEquals("labels 'y': class 3 at element 1 is not in [0, 3)", refused);
      assertEquals("input 'y' has not been set", refusal(ints::forward), "a refused call leaves the labels unset");
      assertEquals("labels 'y': class -1 at element 0 is not in [0, 3)", refusal(() -> ints.setLabels(y, new int[] {-1})));
      assertEquals("input 'x' holds examples, not class indices: setLabels takes a labels input (GraphBuilder.labels); "
          + "set examples with setInput", refusal(() -> ints.setLabels(x, new int[] {0, 1, 2})));
      assertEquals("labels 'y': 0 values are not a whole number of examples of 1", refusal(() -> ints.setLabels(y, new int[0])));
      assertEquals("labels 'y': batch of 5 exceeds the session's maximum of 4",
          refusal(() -> ints.setLabels(y, new int[] {0, 1, 2, 0, 1})));
      assertEquals("indices is null", assertThrows(IllegalArgumentException.class, () -> ints.setLabels(y, null))
          .getMessage());
      Input stranger = new GraphBuilder(1).labels("y", 3);
      assertEquals("labels 'y' is not a node of this session's graph", refusal(() -> ints.setLabels(stranger, new int[] {0})));
      ints.close();
      assertThrows(IllegalStateException.class, () -> ints.setLabels(y, new int[] {0}));
    }
  }

  private static String refusal(Executable call) {
    return assertThrows(GraphException.class, call).getMessage();
  }
}
