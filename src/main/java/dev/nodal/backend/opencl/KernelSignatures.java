package dev.nodal.backend.opencl;

import dev.nodal.graph.Kernel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The parameter types of every {@code __kernel} function of an OpenCL source, read from its text
 * (object-like {@code #define}s in a parameter list expanded), so that a {@link Kernel} an op
 * declares can be checked against the source it runs: {@code int} is {@link Kernel.Type#INT},
 * {@code float} {@link Kernel.Type#FLOAT}, a {@code __global} pointer
 * {@link Kernel.Type#BUFFER} and a {@code __local} pointer {@link Kernel.Type#GROUP_SCRATCH}.
 */
final class KernelSignatures {
  private static final Pattern DEFINE = Pattern.compile("(?m)^\\s*#define\\s+(\\w+)[ \\t]+(.*)$");
  private static final Pattern KERNEL = Pattern.compile("__kernel\\s+void\\s+(\\w+)\\s*\\(([^)]*)\\)");

  private KernelSignatures() {}

  /** Every kernel function of {@code source} with its parameters' types, in order. */
  static Map<String, List<Kernel.Type>> of(String source) {
    String text = source.replace("\\\r\n", " ").replace("\\\n", " ");
    Map<String, String> macros = new HashMap<>();
    Matcher d = DEFINE.matcher(text);
    while (d.find()) macros.put(d.group(1), d.group(2));
    Map<String, List<Kernel.Type>> out = new HashMap<>();
    Matcher k = KERNEL.matcher(text);
    while (k.find()) {
      String params = k.group(2);
      for (Map.Entry<String, String> m : macros.entrySet()) {
        params = params.replaceAll("\\b" + Pattern.quote(m.getKey()) + "\\b", Matcher.quoteReplacement(m.getValue()));
      }
      List<Kernel.Type> types = new ArrayList<>();
      if (!params.isBlank()) {
        for (String p : params.split(",")) types.add(type(p));
      }
      out.put(k.group(1), java.util.Collections.unmodifiableList(types));
    }
    return out;
  }

  private static Kernel.Type type(String text) {
    String param = " " + text.replaceAll("\\s+", " ").trim() + " ";
    if (param.contains("__local") || param.contains(" local ")) return Kernel.Type.GROUP_SCRATCH;
    if (param.contains("*")) return Kernel.Type.BUFFER;
    if (param.matches(".*\\b(int|uint)\\b.*")) return Kernel.Type.INT;
    if (param.matches(".*\\bfloat\\b.*")) return Kernel.Type.FLOAT;
    return null; // a type Nodal does not pass: never equal to a declared one
  }

  /**
   * Null when {@code kernel} declares the parameter types that {@code file}'s source gives its
   * function, else what differs.
   */
  static String mismatch(Kernel kernel, String file, Map<String, List<Kernel.Type>> source) {
    List<Kernel.Type> actual = source.get(kernel.function());
    if (actual == null) return file + " has no __kernel " + kernel.function() + "; it has " + new java.util.TreeSet<>(source.keySet());
    List<Kernel.Type> declared = kernel.params().stream().map(Kernel.Param::type).toList();
    if (declared.equals(actual)) return null;
    return "kernel " + kernel.function() + " of " + file + " takes " + names(actual) + ", but the op declares " + kernel;
  }

  private static String names(List<Kernel.Type> types) {
    return types.stream().map(t -> t == null ? "(other)" : t.name().toLowerCase(java.util.Locale.ROOT)).toList().toString();
  }
}
