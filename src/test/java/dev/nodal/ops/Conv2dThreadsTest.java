package dev.nodal.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * A convolution whose per-image products are large enough for the GEMM to split over threads
 * (64 × 2,304 over 144, above its threshold of 2^23 multiply-adds) in three chunks of images,
 * which run in parallel themselves; each chunk's products stay on its thread
 * ({@code CpuContext.serially}, whose rule {@code dev.nodal.tensor.GemmTest} checks). The output of
 * sampled images is checked against a double-precision loop, three times over.
 */
class Conv2dThreadsTest {
  @Test
  void largeProductsInsideParallelChunksAreCorrect() {
    int n = 24, c = 16, h = 48, w = 48, k = 64;
    Conv2d op = Conv2d.builder().padding(1).build();
    SplittableRandom r = new SplittableRandom(11);
    CpuTensor x = random(r, Shape.of(n, c, h, w)), wt = random(r, Shape.of(k, c, 3, 3)), b = random(r, Shape.of(k));
    for (int round = 0; round < 3; round++) {
      CpuTensor z = CpuTensor.zeros(Shape.of(n, k, h, w));
      op.forward(Pass.of(true, 0), new CpuTensor[] {x, wt, b}, z);
      for (int img : new int[] {0, 9, 17, 23}) {
        for (int f = 0; f < k; f += 7) {
          for (int p = 0; p < h; p += 5) {
            for (int q = 0; q < w; q += 3) {
              double s = b.data[f];
              for (int ch = 0; ch < c; ch++) {
                for (int dr = 0; dr < 3; dr++) {
                  for (int ds = 0; ds < 3; ds++) {
                    int ih = p - 1 + dr, iw = q - 1 + ds;
                    if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                    s += (double) x.data[((img * c + ch) * h + ih) * w + iw] * wt.data[((f * c + ch) * 3 + dr) * 3 + ds];
                  }
                }
              }
              assertEquals(s, z.data[((img * k + f) * h + p) * w + q], 1e-3,
                  "round " + round + ", image " + img + ", filter " + f + " at " + p + "," + q);
            }
          }
        }
      }
    }
  }

  private static CpuTensor random(SplittableRandom r, Shape s) {
    CpuTensor t = CpuTensor.zeros(s);
    for (int i = 0; i < t.data.length; i++) t.data[i] = (float) r.nextDouble(-1, 1);
    return t;
  }
}
