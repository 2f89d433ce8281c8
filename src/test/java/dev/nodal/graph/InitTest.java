package dev.nodal.graph;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.tensor.Shape;
import org.junit.jupiter.api.Test;

class InitTest {

  private static double mean(float[] v) {
    double s = 0;
    for (float x : v) s += x;
    return s / v.length;
  }

  private static double std(float[] v) {
    double m = mean(v), s = 0;
    for (float x : v) s += (x - m) * (x - m);
    return Math.sqrt(s / v.length);
  }

  @Test
  void sameSeedSameValues() {
    Shape s = Shape.of(30, 20);
    assertArrayEquals(Init.he().values(s, 7), Init.he().values(s, 7));
    assertTrue(Init.he().values(s, 7)[0] != Init.he().values(s, 8)[0]);
  }

  @Test
  void builderSeedsParamsByName() {
    GraphBuilder a = new GraphBuilder(3);
    GraphBuilder b = new GraphBuilder(3);
    a.param("other", Init.zeros(), 1);
    Param pa = a.param("W", Init.normal(0, 1), 5);
    Param pb = b.param("W", Init.normal(0, 1), 5);
    assertArrayEquals(pa.initialValues(), pb.initialValues());
  }

  @Test
  void distributionsHaveTheirMoments() {
    Shape s = Shape.of(400, 250);
    float[] he = Init.he().values(s, 1);
    assertEquals(0, mean(he), 0.01);
    assertEquals(Math.sqrt(2.0 / 400), std(he), 0.002);
    float[] xavier = Init.xavier().values(s, 1);
    double a = Math.sqrt(6.0 / (400 + 250));
    assertEquals(a / Math.sqrt(3), std(xavier), 0.002);
    for (float v : xavier) assertTrue(Math.abs(v) <= a);
    float[] u = Init.uniform(2, 4).values(s, 1);
    assertEquals(3, mean(u), 0.01);
    float[] n = Init.normal(1, 0.5f).values(s, 1);
    assertEquals(1, mean(n), 0.01);
    assertEquals(0.5, std(n), 0.01);
    assertArrayEquals(new float[] {1.5f, 1.5f}, Init.constant(1.5f).values(Shape.of(2), 1));
    assertArrayEquals(new float[3], Init.zeros().values(Shape.of(3), 1));
  }

  /** A convolution weight [K, C, R, S] has fan-in C·R·S and fan-out K·R·S, as in PyTorch. */
  @Test
  void convolutionWeightsTakeTheirFansFromChannelsAndWindow() {
    Shape conv = Shape.of(64, 32, 3, 3);
    assertEquals(Math.sqrt(2.0 / (32 * 9)), std(Init.he().values(conv, 1)), 0.002);
    float[] torch = Init.fanInUniform().values(conv, 1);
    for (float v : torch) assertTrue(Math.abs(v) <= 1 / Math.sqrt(32 * 9));
    assertEquals(1 / Math.sqrt(3 * 32 * 9), std(torch), 0.002);
    assertEquals("fan_in_uniform", Init.parse(Init.fanInUniform().describe()).describe());
    double a = Math.sqrt(6.0 / (32 * 9 + 64 * 9));
    assertEquals(a / Math.sqrt(3), std(Init.xavier().values(conv, 1)), 0.002);
  }
}
