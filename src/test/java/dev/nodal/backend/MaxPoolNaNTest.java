package dev.nodal.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.ops.Pool2d;
import dev.nodal.ops.Scale;
import dev.nodal.testkit.OpenClTests;
import org.junit.jupiter.api.Test;

/**
 * Max pooling keeps a NaN, as PyTorch's does, on both backends: a window that holds one outputs
 * NaN and sends its gradient to its last NaN (PyTorch's rule); a window without one is
 * unaffected. Both the 2×2, stride 2 fast path and the general path.
 */
class MaxPoolNaNTest {
  // A 2×4 image [1, NaN, 2, 7 / NaN, 5, -3, 4]. The NaNs are made inside the graph (parameters
  // must be finite) as (1e30 · 1e30) · 0 = inf · 0.
  private static final float[] IMAGE = {1, 1e30f, 2, 7, 1e30f, 5, -3, 4};
  private static final float[] MASK = {1e-30f, 0, 1e-30f, 1e-30f, 0, 1e-30f, 1e-30f, 1e-30f};

  /** Windows [1, NaN / NaN, 5] and [2, 7 / -3, 4]: NaN credited at element 4, 7 at element 3. */
  @Test
  void twoByTwoWindows() {
    check(Pool2d.max(2, 2, 0), 2, new float[] {Float.NaN, 7}, new float[] {0, 0, 0, 7, Float.NaN, 0, 0, 0});
  }

  /**
   * 2×2 windows at stride 1 (the general path): [1, NaN / NaN, 5] → element 4, [NaN, 2 / 5, -3]
   * → element 1, [2, 7 / -3, 4] → element 3, each credited dL/dz = 2z/3.
   */
  @Test
  void overlappingWindows() {
    check(Pool2d.max(2, 1, 0), 3, new float[] {Float.NaN, Float.NaN, 7},
        new float[] {0, Float.NaN, 0, 14f / 3, Float.NaN, 0, 0, 0});
  }

  private static void check(Pool2d op, int outputs, float[] expectedZ, float[] expectedGrad) {
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), 1, 1, 2, 4), m = g.param("m", Init.zeros(), 1, 1, 2, 4);
    Node masked = g.apply(new Mul(), "masked", g.apply(new Scale(1e30f), "big", x), m);
    Node pool = g.apply(op, "pool", masked);
    Param t = g.param("t", Init.zeros(), 1, 1, 1, outputs); // the target, zeros
    Graph graph = g.build(g.apply(new Mse(), "loss", pool, t));
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu()) {
      for (Backend b : new Backend[] {cpu, device}) {
        try (Session s = b.compile(graph, CompileOptions.maxBatch(1).keep("pool", "masked"))) {
          s.setParam(x, IMAGE);
          s.setParam(m, MASK);
          s.forward();
          s.backward();
          float[] in = s.value(masked), z = s.value(pool), dIn = s.gradient(masked);
          String on = " on " + b.name() + ": z " + java.util.Arrays.toString(z) + ", dx " + java.util.Arrays.toString(dIn);
          assertTrue(Float.isNaN(in[1]) && Float.isNaN(in[4]), "the NaNs are made" + on);
          for (int i = 0; i < expectedZ.length; i++) assertEquals(expectedZ[i], z[i], 1e-5f, "output " + i + on);
          for (int i = 0; i < expectedGrad.length; i++) assertEquals(expectedGrad[i], dIn[i], 1e-4f, "element " + i + on);
        }
      }
    }
  }
}
