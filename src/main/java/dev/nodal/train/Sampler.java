package dev.nodal.train;

import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Draws the next byte from a model's logits: the {@code topK} most likely bytes (all when 0) are
 * kept, the others dropped, and one is drawn from the softmax of the kept logits divided by
 * {@code temperature}, with one number of a {@link SplittableRandom} seeded by {@code seed} per
 * byte, so one seed gives one text. Temperature 0 is greedy: the most likely byte, the lowest of
 * equally likely ones, and no number is drawn; small temperatures come close to it, larger ones
 * flatten the distribution. Ties at the k-th place are broken for the lower byte.
 */
public final class Sampler {
  private final double temperature;
  private final int topK;
  private final SplittableRandom random;

  /**
   * @param temperature {@code >= 0}; 0 for greedy
   * @param topK {@code >= 0}; 0 for no limit
   * @throws IllegalArgumentException naming the setting that is out of range
   */
  public Sampler(double temperature, int topK, long seed) {
    if (!(temperature >= 0 && temperature < Double.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("temperature must be finite and >= 0 (0: greedy), got " + temperature);
    }
    if (topK < 0) throw new IllegalArgumentException("top-k must be >= 0 (0: every byte), got " + topK);
    this.temperature = temperature;
    this.topK = topK;
    this.random = new SplittableRandom(seed);
  }

  /** The next byte, 0 to {@code logits.length - 1}. */
  public int next(float[] logits) {
    Integer[] order = new Integer[logits.length];
    for (int v = 0; v < order.length; v++) order[v] = v;
    Arrays.sort(order, (a, b) -> {
      int byLogit = Float.compare(logits[b], logits[a]);
      return byLogit != 0 ? byLogit : Integer.compare(a, b);
    });
    if (temperature == 0) return order[0];
    int k = topK == 0 ? order.length : Math.min(topK, order.length);
    double max = logits[order[0]];
    double[] p = new double[k];
    double sum = 0;
    for (int i = 0; i < k; i++) sum += p[i] = Math.exp((logits[order[i]] - max) / temperature);
    double u = random.nextDouble() * sum;
    for (int i = 0; i < k; i++) {
      u -= p[i];
      if (u < 0) return order[i];
    }
    return order[k - 1];
  }
}
