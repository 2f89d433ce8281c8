package dev.nodal.optim;

import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Every optimizer by name, made from hyper-parameters as checkpoints and the command line give
 * them ({@code lr=0.001}, {@code nesterov=true}): values may be numbers, booleans or their text.
 * Keys an optimizer does not know are an error that lists the ones it does.
 */
public final class Optimizers {
  private Optimizers() {}

  public static final List<String> NAMES = List.of("sgd", "adam", "adamw");

  private static final Map<String, Set<String>> KEYS = Map.of(
      "sgd", Set.of("lr", "momentum", "nesterov", "weight_decay", "clip_norm"),
      "adam", Set.of("lr", "beta1", "beta2", "eps", "weight_decay", "clip_norm"),
      "adamw", Set.of("lr", "beta1", "beta2", "eps", "weight_decay", "clip_norm"));

  public static Optimizer create(String name, Map<String, ?> hyper) {
    Set<String> known = KEYS.get(name);
    if (known == null) throw new IllegalArgumentException("unknown optimizer '" + name + "'; known: " + NAMES);
    for (String k : hyper.keySet()) {
      if (!known.contains(k)) {
        throw new IllegalArgumentException(name + ": unknown hyper-parameter '" + k + "'; known: " + known.stream().sorted().toList());
      }
    }
    if (name.equals("sgd")) {
      Sgd.Builder b = common(Sgd.builder(), name, hyper);
      if (hyper.containsKey("momentum")) b.momentum(number(name, hyper, "momentum"));
      if (hyper.containsKey("nesterov")) b.nesterov(bool(name, hyper, "nesterov"));
      return b.build();
    }
    Adam.Builder b = common(name.equals("adam") ? Adam.adam() : Adam.adamW(), name, hyper);
    if (hyper.containsKey("beta1")) b.beta1(number(name, hyper, "beta1"));
    if (hyper.containsKey("beta2")) b.beta2(number(name, hyper, "beta2"));
    if (hyper.containsKey("eps")) b.eps(number(name, hyper, "eps"));
    return b.build();
  }

  /** Sets what every optimizer has: lr, weight_decay, clip_norm. */
  private static <B extends AbstractOptimizer.Builder<B>> B common(B b, String name, Map<String, ?> hyper) {
    if (hyper.containsKey("lr")) b.learningRate(number(name, hyper, "lr"));
    if (hyper.containsKey("weight_decay")) b.weightDecay(number(name, hyper, "weight_decay"));
    if (hyper.containsKey("clip_norm")) b.clipNorm(number(name, hyper, "clip_norm"));
    return b;
  }

  private static float number(String name, Map<String, ?> hyper, String key) {
    Object v = hyper.get(key);
    if (v instanceof Number n) return n.floatValue();
    try {
      return Float.parseFloat(String.valueOf(v).trim());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": " + key + "=" + v + " is not a number");
    }
  }

  private static boolean bool(String name, Map<String, ?> hyper, String key) {
    Object v = hyper.get(key);
    if (v instanceof Boolean b) return b;
    String s = String.valueOf(v).trim();
    if (s.equals("true") || s.equals("false")) return Boolean.parseBoolean(s);
    throw new IllegalArgumentException(name + ": " + key + "=" + v + " is not true or false");
  }
}
