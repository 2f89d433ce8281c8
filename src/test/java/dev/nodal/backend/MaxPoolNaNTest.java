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
 * NaN and sends its gradient to its first NaN; a window without one is unaffected.
 */
class MaxPoolNaNTest {
  @Test
  void aWindowWithANaNOutputsNaNAndCreditsItsFirstNaN() {
    // Two 2×2 windows of a 2×4 image, [1, NaN / NaN, 5] and [2, 7 / -3, 4]: the NaNs are made
    // inside the graph (parameters must be finite) as (1e30 · 1e30) · 0 = inf · 0.
    float[] image = {1, 1e30f, 2, 7, 1e30f, 5, -3, 4};
    float[] mask = {1e-30f, 0, 1e-30f, 1e-30f, 0, 1e-30f, 1e-30f, 1e-30f};
    GraphBuilder g = new GraphBuilder(1);
    Param x = g.param("x", Init.zeros(), 1, 1, 2, 4), m = g.param("m", Init.zeros(), 1, 1, 2, 4);
    Node masked = g.apply(new Mul(), "masked", g.apply(new Scale(1e30f), "big", x), m);
    Node pool = g.apply(Pool2d.max(2, 2, 0), "pool", masked);
    Param t = g.param("t", Init.zeros(), 1, 1, 1, 2); // the target, zeros
    Graph graph = g.build(g.apply(new Mse(), "loss", pool, t));
    try (Backend device = OpenClTests.backend(); Backend cpu = Backends.cpu()) {
      for (Backend b : new Backend[] {cpu, device}) {
        try (Session s = b.compile(graph, CompileOptions.maxBatch(1).keep("pool", "masked"))) {
          s.setParam(x, image);
          s.setParam(m, mask);
          s.forward();
          s.backward();
          float[] in = s.value(masked), z = s.value(pool), dIn = s.gradient(masked);
          String on = " on " + b.name();
          assertTrue(Float.isNaN(in[1]) && Float.isNaN(in[4]), "the NaNs are made" + on);
          assertTrue(Float.isNaN(z[0]), "the window with NaN" + on + ": " + z[0]);
          assertEquals(7f, z[1], 1e-5f, "the other window" + on);
          assertTrue(Float.isNaN(dIn[1]), "its first NaN is credited" + on + ": " + java.util.Arrays.toString(dIn));
          for (int i : new int[] {0, 2, 4, 5, 6, 7}) assertEquals(0f, dIn[i], "element " + i + on);
          assertEquals(7f, dIn[3], 1e-4f, "the other window's maximum gets d(mean of squares)/dz = z" + on);
        }
      }
    }
  }
}
