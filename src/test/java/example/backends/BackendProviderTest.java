package example.backends;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.devices.Device;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import org.junit.jupiter.api.Test;

/**
 * A backend registered from outside Nodal's packages, through {@code ServiceLoader}: the
 * selectors find it, and it trains as the backend it wraps, bit for bit.
 */
class BackendProviderTest {

  @Test
  void theSelectorsFindAProvidersBackend() {
    assertTrue(Backends.providers().containsKey("wrapped-cpu"), "providers: " + Backends.providers().keySet());
    assertEquals("wrapped-cpu", Backends.checkSelector(" Wrapped-CPU "));
    assertEquals("wrapped-cpu:CaseKept", Backends.checkSelector("wrapped-cpu:CaseKept"));
    try (Backend b = Backends.open(Device.named("wrapped-cpu:CaseKept"))) {
      assertEquals("wrapped-cpu:CaseKept", b.name());
    }
    IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class, () -> Backends.open("wrapped-gpu"));
    assertTrue(unknown.getMessage().contains("unknown device 'wrapped-gpu'") && unknown.getMessage().contains("[wrapped-cpu]"),
        unknown.getMessage());
    IllegalArgumentException rest = assertThrows(IllegalArgumentException.class, () -> Backends.open("wrapped-cpu:a:b"));
    assertTrue(rest.getMessage().contains("wrapped-cpu:a:b"), rest.getMessage());
  }

  @Test
  void aProvidersBackendTrainsAsTheBackendItWraps() {
    int before = WrappedCpuProvider.COMPILED.get();
    float[] wrapped = train(Backends.open("wrapped-cpu"));
    float[] cpu = train(Backends.open(Device.cpu()));
    assertEquals(before + 1, WrappedCpuProvider.COMPILED.get(), "the provider's backend compiled the session");
    assertArrayEquals(cpu, wrapped, "losses of 30 steps on wrapped-cpu and cpu");
  }

  @Test
  void typedDevicesSayWhatTheStringsSay() {
    assertEquals("opencl:0:1", Device.opencl(0, 1).selector());
    assertEquals(Device.parse("OPENCL:0:1"), Device.opencl(0, 1));
    assertEquals("auto", Device.parse(null).selector());
    assertThrows(IllegalArgumentException.class, () -> Device.opencl(-1, 0));
    assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu"));
  }

  private static float[] train(Backend backend) {
    Models.Spiral data = Models.Spiral.make(20, 3);
    Graph g = Models.mlp(5, 2, 16, 2);
    float[] losses = new float[30];
    try (backend; Session s = backend.compile(g, data.size())) {
      s.setOptimizer(Sgd.builder().learningRate(0.1f).momentum(0.9f).build());
      for (int i = 0; i < losses.length; i++) {
        s.setInput((Input) g.node("x"), data.features());
        s.setInput((Input) g.node("y"), data.labels());
        losses[i] = s.trainStep();
      }
    }
    return losses;
  }
}
