package dev.nodal.cli;

import dev.nodal.optim.Optimizers;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.ListResourceBundle;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The parts of {@code nodal train --help} that come from the library: the hyper-parameters each
 * optimizer takes, with their ranges, as {@link Optimizers#keys} defines them (the same
 * definitions read {@code --opt} and check it).
 */
public final class TrainHelp extends ListResourceBundle {
  @Override
  protected Object[][] getContents() {
    Map<String, List<String>> optimizers = new LinkedHashMap<>(); // keys and ranges -> the optimizers that take them
    for (String name : Optimizers.NAMES) {
      String keys = Optimizers.keys(name).stream().map(k -> k.name() + " " + k.range()).collect(Collectors.joining(", "));
      optimizers.computeIfAbsent(keys, k -> new ArrayList<>()).add(name);
    }
    String text = optimizers.entrySet().stream().map(e -> String.join(", ", e.getValue()) + ": " + e.getKey())
        .collect(Collectors.joining("; "));
    return new Object[][] {{"opt", "An optimizer hyper-parameter, repeatable. " + text + "."}};
  }
}
