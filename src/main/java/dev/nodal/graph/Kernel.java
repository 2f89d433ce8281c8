package dev.nodal.graph;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.regex.Pattern;

/**
 * A kernel an op launches, named independently of any device: a program (a backend maps it to
 * its source: {@code kernels/<program>.cl} on OpenCL, a resource of the op's jar for an op of
 * one's own) and a function of that program, with the type of every parameter in order. The plan
 * checks each launch's arguments against these types when it is made, and a backend checks them
 * against its source when it lowers the launch, so an argument of the wrong type or count is an
 * error that names the node, the kernel and the argument, never garbage computed in silence.
 *
 * <pre>
 * static final Kernel FORWARD = Kernel.of("scale", "scale_forward").ints("n").floats("c").buffers("x", "z");
 * </pre>
 */
public record Kernel(String program, String function, List<Param> params) {
  /** What a parameter holds. */
  public enum Type {
    /** A 32-bit integer. */
    INT,
    /** A 32-bit float. */
    FLOAT,
    /** A buffer of floats (an input, output, gradient, workspace or scratch of the node). */
    BUFFER,
    /**
     * A work-group's scratch array of one float per work-item, which the backend supplies: the
     * last parameter of a kernel launched in groups ({@link Launcher#launchGroups}).
     */
    GROUP_SCRATCH
  }

  /** One parameter: its name (for messages) and type. */
  public record Param(String name, Type type) {}

  private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

  public Kernel {
    for (String part : List.of(program, function)) {
      if (part == null || !NAME.matcher(part).matches()) {
        throw new IllegalArgumentException("kernel program and function names are identifiers, got '" + part + "'");
      }
    }
    params = List.copyOf(params);
    for (int i = 0; i < params.size(); i++) {
      if (params.get(i).type() == Type.GROUP_SCRATCH && i != params.size() - 1) {
        throw new IllegalArgumentException(function + ": a group scratch parameter comes last");
      }
    }
  }

  /** A kernel without parameters yet; add them in order with {@link #ints} and the rest. */
  public static Kernel of(String program, String function) {
    return new Kernel(program, function, List.of());
  }

  public Kernel ints(String... names) {
    return with(Type.INT, names);
  }

  public Kernel floats(String... names) {
    return with(Type.FLOAT, names);
  }

  public Kernel buffers(String... names) {
    return with(Type.BUFFER, names);
  }

  /** The group scratch array, last ({@link Type#GROUP_SCRATCH}). */
  public Kernel groupScratch(String name) {
    return with(Type.GROUP_SCRATCH, name);
  }

  /** The parameters the caller passes: all but a trailing {@link Type#GROUP_SCRATCH}. */
  public List<Param> passed() {
    return hasGroupScratch() ? params.subList(0, params.size() - 1) : params;
  }

  /** True when the kernel ends with a group scratch array (it runs as {@link Launcher#launchGroups}). */
  public boolean hasGroupScratch() {
    return !params.isEmpty() && params.get(params.size() - 1).type() == Type.GROUP_SCRATCH;
  }

  private Kernel with(Type type, String... names) {
    List<Param> all = new ArrayList<>(params);
    for (String n : names) all.add(new Param(n, type));
    return new Kernel(program, function, Collections.unmodifiableList(all));
  }

  /** {@code program:function(int n, buffer x, ...)}. */
  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder(program).append(':').append(function).append('(');
    for (int i = 0; i < params.size(); i++) {
      if (i > 0) sb.append(", ");
      sb.append(params.get(i).type().name().toLowerCase(java.util.Locale.ROOT)).append(' ').append(params.get(i).name());
    }
    return sb.append(')').toString();
  }
}
