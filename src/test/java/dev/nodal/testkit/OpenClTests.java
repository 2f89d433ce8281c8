package dev.nodal.testkit;

import static org.junit.jupiter.api.Assertions.fail;

import dev.nodal.backend.Backend;
import dev.nodal.devices.Backends;
import dev.nodal.devices.NodalOptions;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClBackend;
import org.junit.jupiter.api.Assumptions;

/**
 * The OpenCL device that tests run on: {@code $NODAL_TEST_DEVICE} ({@code auto} picks the first
 * GPU), else the first OpenCL device of any type (PoCL's CPU device in CI). Without a usable
 * OpenCL platform the test is skipped, unless {@code NODAL_REQUIRE_OPENCL=1}, which turns that
 * into a failure.
 */
public final class OpenClTests {
  private OpenClTests() {}

  public static Backend backend() {
    String selector = selector();
    Backend b = Backends.open(selector);
    if (!(b instanceof OpenClBackend)) fail("NODAL_TEST_DEVICE=" + selector + " chose " + b.name() + ", not an OpenCL device");
    return b;
  }

  /**
   * The {@code --device} value of {@link #backend()}'s device, for tests through the command
   * line; with the same skip or failure when OpenCL is not usable.
   */
  public static String selector() {
    OpenCl.Probe probe = OpenCl.probe(NodalOptions.fromEnvironment().openCl());
    if (!probe.usable()) {
      String why = "OpenCL is not usable: " + probe.error() + ". Fix: " + probe.fix();
      if ("1".equals(System.getenv("NODAL_REQUIRE_OPENCL"))) fail("NODAL_REQUIRE_OPENCL=1 and " + why);
      Assumptions.abort(why);
    }
    String selector = System.getenv("NODAL_TEST_DEVICE");
    return selector == null || selector.isBlank() ? "opencl" : selector;
  }

  /** {@code "cpu"}: the CPU backend; {@code "opencl"}: {@link #backend()}, with its skip or failure. */
  public static Backend named(String name) {
    return name.equals("cpu") ? Backends.cpu() : backend();
  }
}
