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
    if (kind.equals("step") && get(params, "step_size", 1) < 1) {
      throw new IllegalArgumentException("schedule step: step_size must be at least 1");
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
