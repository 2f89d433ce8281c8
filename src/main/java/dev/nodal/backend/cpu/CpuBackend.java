package dev.nodal.backend.cpu;

import dev.nodal.backend.BackendBase;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;
import dev.nodal.tensor.Blas;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The pure-Java backend: runs every op's own Java code on float arrays. Holds no native resource. */
public final class CpuBackend extends BackendBase {
  private static final Logger log = LoggerFactory.getLogger(CpuBackend.class);
  private static final AtomicBoolean toldOfPlainLoops = new AtomicBoolean();

  /** Says once per process, at WARN, when the Vector API is missing and products run slower. */
  public CpuBackend() {
    if (Blas.vectorModuleMissing() && toldOfPlainLoops.compareAndSet(false, true)) {
      log.warn("The CPU backend runs its matrix products on plain Java loops, several times slower than on the "
          + "Vector API, because this JVM lacks the jdk.incubator.vector module; start Java with "
          + "--add-modules jdk.incubator.vector to restore them (./nodal does)");
    }
  }

  @Override
  public String name() {
    return "cpu";
  }

  @Override
  protected SessionBase newSession(Graph graph, CompileOptions options) {
    return new CpuSession(graph, options);
  }

  @Override
  public DeviceTraits traits() {
    return DeviceTraits.CPU;
  }

  @Override
  protected void release() {}
}
