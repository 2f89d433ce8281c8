package dev.nodal.optim;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * A learning-rate schedule over the steps of a run, as PyTorch's schedulers define them, with an
 * optional linear warm-up in front (multiplying, as {@code ChainedScheduler} does):
 *
 * <ul>
 *   <li>{@code constant}: the base rate;
 *   <li>{@code cosine}: {@code min_lr + (base − min_lr)·(1 + cos(π·t/T))/2}, T the run's steps
 *       unless {@code t_max} is given ({@code CosineAnnealingLR});
 *   <li>{@code step}: {@code base·gamma^⌊t/step_size⌋} ({@code StepLR});
 *   <li>warm-up: a factor from {@code warmup_start} to 1 over {@code warmup_steps} steps
 *       ({@code LinearLR}).
 * </ul>
 *
 * Every parameter is checked when the schedule is made, so that no rate of a run is NaN or
 * infinite: each finite and at least 0; {@code t_max} and {@code step_size} at least 1;
 * {@code gamma} and {@code warmup_start} factors of at most 1 (a decay, a warm-up from below);
 * {@code min_lr} a float.
 */
public record Schedule(String kind, Map<String, Double> params) {
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
    double lr = switch (kind) {
      case "cosine" -> {
        double min = get(params, "min_lr", 0), tMax = get(params, "t_max", Math.max(1, total));
        yield min + (base - min) * (1 + Math.cos(Math.PI * t / tMax)) / 2;
      }
      case "step" -> base * Math.pow(get(params, "gamma", 0.1), Math.floor(t / get(params, "step_size", 1)));
      default -> base;
    };
    double warmup = get(params, "warmup_steps", 0);
    if (warmup > 0 && t < warmup) {
      double start = get(params, "warmup_start", 0.1);
      lr *= start + (1 - start) * t / warmup;
    }
    return lr;
  }

  private static double get(Map<String, Double> params, String key, double fallback) {
    Double v = params.get(key);
    return v == null ? fallback : v;
  }
}
