package dev.nodal.optim;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Every optimizer by name, made into a spec from hyper-parameters as the command line
 * ({@code --opt lr=0.001}), graph files and checkpoints give them: values may be numbers,
 * booleans or their text. Keys left out take their defaults; a key the optimizer does not know is
 * an error that names it and lists the ones it does. The keys, their types, defaults and ranges
 * are each spec's ({@link OptimizerSpec#keys()}); so are the checks.
 */
public final class Optimizers {
  private Optimizers() {}

  public static final List<String> NAMES = List.of("sgd", "adam", "adamw");

  /** The hyper-parameters of the optimizer {@code name}. */
  public static List<HyperParameter> keys(String name) {
    return switch (known(name)) {
      case "sgd" -> SgdSpec.KEYS;
      case "adam" -> AdamSpec.ADAM_KEYS;
      default -> AdamSpec.ADAMW_KEYS;
    };
  }

  /** The spec of optimizer {@code name} with {@code values} (by key: numbers, booleans or text), checked. */
  public static OptimizerSpec spec(String name, Map<String, ?> values) {
    List<HyperParameter> keys = keys(name);
    Map<String, Object> v = new HashMap<>();
    for (HyperParameter k : keys) v.put(k.name(), k.defaultValue());
    for (Map.Entry<String, ?> e : values.entrySet()) {
      HyperParameter key = keys.stream().filter(k -> k.name().equals(e.getKey())).findFirst().orElseThrow(() ->
          new IllegalArgumentException(name + ": unknown hyper-parameter '" + e.getKey() + "'; known: "
              + keys.stream().map(HyperParameter::name).sorted().toList()));
      v.put(key.name(), key.read(name, e.getValue()));
    }
    return switch (name) {
      case "sgd" -> new SgdSpec(number(v, "lr"), number(v, "momentum"), (Boolean) v.get("nesterov"),
          number(v, "weight_decay"), number(v, "clip_norm"));
      default -> new AdamSpec(number(v, "lr"), number(v, "beta1"), number(v, "beta2"), number(v, "eps"),
          number(v, "weight_decay"), number(v, "clip_norm"), name.equals("adamw"));
    };
  }

  private static String known(String name) {
    if (!NAMES.contains(name)) throw new IllegalArgumentException("unknown optimizer '" + name + "'; known: " + NAMES);
    return name;
  }

  private static float number(Map<String, Object> values, String key) {
    return (Float) values.get(key);
  }
}
