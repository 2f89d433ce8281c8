package example.backends;

import dev.nodal.backend.Backend;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.Session;
import dev.nodal.devices.BackendProvider;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend of a user's own, registered through {@code META-INF/services}: Nodal's CPU backend
 * behind another name, counting the sessions it compiles. {@code wrapped-cpu:TAG} names it with a
 * tag, kept in its name.
 */
public final class WrappedCpuProvider implements BackendProvider {
  /** Sessions compiled by every backend this provider opened. */
  public static final AtomicInteger COMPILED = new AtomicInteger();

  @Override
  public String name() {
    return "wrapped-cpu";
  }

  @Override
  public String description() {
    return "the CPU backend behind another name (a test's provider)";
  }

  @Override
  public Backend open(String selector) {
    String tag = selector.contains(":") ? selector.substring(selector.indexOf(':') + 1) : "";
    if (tag.contains(":")) throw new IllegalArgumentException("device '" + selector + "': wrapped-cpu takes one tag");
    Backend cpu = Backends.cpu();
    return new Backend() {
      @Override
      public String name() {
        return tag.isEmpty() ? "wrapped-cpu" : "wrapped-cpu:" + tag;
      }

      @Override
      public Session compile(Graph graph, CompileOptions options) {
        COMPILED.incrementAndGet();
        return cpu.compile(graph, options);
      }

      @Override
      public DeviceTraits traits() {
        return cpu.traits();
      }

      @Override
      public void close() {
        cpu.close();
      }
    };
  }
}
