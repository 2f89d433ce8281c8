package dev.nodal.optim;

import java.io.Serializable;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A learning-rate schedule over the steps of a run, as PyTorch's schedulers define them, with an
 * optional linear warm-up in front, as {@code ChainedScheduler([LinearLR, main])} combines them:
 *
 * <ul>
 *   <li>{@code constant}: the base rate B;
 *   <li>{@code cosine}: {@code m + (B − m)·c_t/2}, with {@code c_t = 1 + cos(π·t/T)}, T the run's
 *       steps unless {@code t_max} is given and m {@code min_lr} ({@code CosineAnnealingLR});
 *   <li>{@code step}: {@code B·gamma^⌊t/step_size⌋} ({@code StepLR});
 *   <li>warm-up: a factor {@code f_t} from {@code warmup_start} to 1 over {@code warmup_steps}
 *       steps ({@code LinearLR}), 1 after them.
 * </ul>
 *
 * <p>The warm-up multiplies the constant and step rates. Chained with the cosine, it does not
 * simply multiply when {@code min_lr > 0}: PyTorch's chainable {@code CosineAnnealingLR} scales the
 * distance of the current rate from m by {@code c_t/c_{t−1}}, and the warm-up has scaled the rate,
 * m included, by {@code f_t/f_{t−1}} just before. Solved, that recursion gives for {@code t ≥ 1},
 * until the cosine's first minimum (t ≤ T):
 *
 * <pre>lr_t = m + c_t·f_t·[(B − m/f_1)/c_0 + m·Σ_{k=2..t} (1/f_{k−1} − 1/f_k)/c_{k−1}]</pre>
 *
 * and {@code lr_0 = B·f_0}; the sum runs over warm-up steps only, and with m = 0 the rate is the
 * product {@code f_t·B·c_t/2}. Past an odd multiple of an integral T, PyTorch restarts from
 * {@code lr = (f_t/f_{t−1})·m + (B − m)·(1 − cos(π/T))/2} at the step after it, and the same
 * recursion runs on from there; with the warm-up over by then, the rate is the plain cosine.
 *
 * <p>Every parameter is checked when the schedule is made, so that no rate of a run is NaN or
 * infinite: each finite and at least 0; {@code t_max} and {@code step_size} at least 1;
 * {@code gamma} and {@code warmup_start} factors of at most 1 (a decay, a warm-up from below);
 * {@code min_lr} a float.
 *
 * <p>A schedule is attached to its optimizer ({@link Optimizer#schedule(Schedule, long)}), which
 * takes the rate of each update from it by its own step count.
 */
public record Schedule(String kind, Map<String, Double> params) implements Serializable {
  private static final Map<String, Set<String>> KEYS = Map.of(
      "constant", Set.of("warmup_steps", "warmup_start"),
      "cosine", Set.of("t_max", "min_lr", "warmup_steps", "warmup_start"),
      "step", Set.of("step_size", "gamma", "warmup_steps", "warmup_start"));

  public Schedule {
    Set<String> known = KEYS.get(kind);
    if (known == null) throw new IllegalArgumentException("unknown schedule '" + kind + "': use constant, cosine or step");
    params = Map.copyOf(params);
    for (String k : params.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException("schedule " + kind + ": unknown parameter '" + k + "'; known: "
            + known.stream().sorted().toList());
      }
      if (!Double.isFinite(params.get(k)) || params.get(k) < 0) {
        throw new IllegalArgumentException("schedule " + kind + ": " + k + " must be finite and >= 0, got " + params.get(k));
      }
    }
    atLeastOne(kind, params, "step_size");
    atLeastOne(kind, params, "t_max");
    for (String factor : new String[] {"gamma", "warmup_start"}) {
      Double v = params.get(factor);
      if (v != null && v > 1) {
        throw new IllegalArgumentException("schedule " + kind + ": " + factor + " must be at most 1, got " + v);
      }
    }
    Double min = params.get("min_lr");
    if (min != null && min > Float.MAX_VALUE) {
      throw new IllegalArgumentException("schedule " + kind + ": min_lr must be at most " + Float.MAX_VALUE + ", got " + min);
    }
  }

  /** {@code t_max} of 0 gives 0/0 at the first step; a {@code step_size} below 1, steps that never end. */
  private static void atLeastOne(String kind, Map<String, Double> params, String key) {
    Double v = params.get(key);
    if (v != null && v < 1) {
      throw new IllegalArgumentException("schedule " + kind + ": " + key + " must be at least 1, got " + v);
    }
  }

  /** A schedule from text values, as the command line gives them. */
  public static Schedule of(String kind, Map<String, String> text) {
    Map<String, Double> p = new LinkedHashMap<>();
    text.forEach((k, v) -> {
      try {
        p.put(k, Double.parseDouble(v.trim()));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("schedule " + kind + ": " + k + "=" + v + " is not a number");
      }
    });
    return new Schedule(kind, p);
  }

  /** The learning rate of step {@code t} (0-based) of a run of {@code total} steps. */
  public double learningRate(double base, long t, long total) {
    return switch (kind) {
      case "cosine" -> cosine(base, t, get(params, "min_lr", 0), get(params, "t_max", Math.max(1, total)));
      case "step" -> base * Math.pow(get(params, "gamma", 0.1), Math.floor(t / get(params, "step_size", 1))) * warmup(t);
      default -> base * warmup(t);
    };
  }

  /** The warm-up factor f_t of step t: from warmup_start to 1 over warmup_steps steps, then 1. */
  private double warmup(long t) {
    return factor(t, get(params, "warmup_steps", 0), get(params, "warmup_start", 0.1));
  }

  private static double factor(long t, double steps, double start) {
    return steps > 0 && t < steps ? start + (1 - start) * t / steps : 1;
  }

  /**
   * The cosine rate chained after the warm-up, as the class comment derives it: O(1) without a
   * warm-up or without min_lr, else one term per warm-up step up to t.
   */
  private double cosine(double base, long t, double min, double tMax) {
    double steps = get(params, "warmup_steps", 0), start = get(params, "warmup_start", 0.1);
    long from = 0; // the step the recursion starts from: 0, or PyTorch's last restart at or before t
    double rate = base * factor(0, steps, start);
    if (tMax == Math.rint(tMax) && t >= tMax + 1) {
      long period = 2 * (long) tMax;
      from = (long) tMax + 1 + (t - (long) tMax - 1) / period * period;
      rate = factor(from, steps, start) / factor(from - 1, steps, start) * min
          + (base - min) * (1 - Math.cos(Math.PI / tMax)) / 2;
    }
    if (t == from) return rate;
    double w; // (lr_k - m) / (c_k·f_k), which each step k changes by m·(1/f_{k-1} - 1/f_k)/c_{k-1}
    long k;
    if (from == 0) {
      w = (base - min / factor(1, steps, start)) / cos1(0, tMax); // steps 0 to 1 in one: exact for warmup_start 0 too
      k = 2;
    } else {
      w = (rate - min) / (cos1(from, tMax) * factor(from, steps, start));
      k = from + 1;
    }
    double end = min == 0 ? 0 : Math.min(t, Math.ceil(steps));
    for (; k <= end; k++) w += min * (1 / factor(k - 1, steps, start) - 1 / factor(k, steps, start)) / cos1(k - 1, tMax);
    return min + cos1(t, tMax) * factor(t, steps, start) * w;
  }

  /** {@code c_k = 1 + cos(π·k/T)}, computed as PyTorch does. */
  private static double cos1(long k, double tMax) {
    return 1 + Math.cos(Math.PI * k / tMax);
  }

  private static double get(Map<String, Double> params, String key, double fallback) {
    Double v = params.get(key);
    return v == null ? fallback : v;
  }
}
