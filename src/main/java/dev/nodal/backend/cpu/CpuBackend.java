package dev.nodal.backend.cpu;

import dev.nodal.backend.BackendBase;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuOptions;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pure-Java backend: runs every op's own Java code on float arrays. Holds no native resource.
 * Its {@link CpuOptions} and the scratch arrays of its ops are its own ({@link CpuContext}), so
 * two CPU backends of one JVM may run with different options side by side.
 */
public final class CpuBackend extends BackendBase {
  private static final Logger log = LoggerFactory.getLogger(CpuBackend.class);
  private final CpuContext cpu;

  /** A backend of {@link CpuOptions#defaults()}: the Vector API where the JVM has it. */
  public CpuBackend() {
    this(CpuOptions.defaults());
  }

  /**
   * A backend whose products follow {@code options}. Says at WARN, once for this backend, when
   * the options ask for the Vector API but the JVM lacks it, so that products run slower.
   */
  public CpuBackend(CpuOptions options) {
    this.cpu = new CpuContext(options);
    if (cpu.vectorModuleMissing()) {
      log.warn("The CPU backend runs its matrix products on plain Java loops, several times slower than on the "
          + "Vector API, because this JVM lacks the jdk.incubator.vector module; start Java with "
          + "--add-modules jdk.incubator.vector to restore them (./nodal does)");
    }
  }

  public CpuOptions options() {
    return cpu.options();
  }

  /** Which GEMM runs this backend's products, for logs and benchmarks ({@link CpuContext#kernel()}). */
  public String gemmKernel() {
    return cpu.kernel();
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  protected SessionBase newSession(Graph graph, CompileOptions options) {
    return new CpuSession(graph, options, cpu);
  }

  @Override
  public DeviceTraits traits() {
    return DeviceTraits.CPU;
  }

  @Override
  protected void release() {}
}
