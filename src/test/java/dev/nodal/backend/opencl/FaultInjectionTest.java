package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.TestData;
import dev.nodal.backend.Session;
import dev.nodal.data.FashionMnist;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.io.Checkpoint;
import dev.nodal.io.TrainerSettings;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.train.ModelZoo;
import dev.nodal.train.RunFolder;
import dev.nodal.train.Trainer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Driver errors, injected where the driver would return them: each is a typed exception that
 * names the call, the error and the device (builds add their log), the session refuses further
 * work, everything closes, and a training run stops with its last checkpoint intact.
 */
class FaultInjectionTest {
  @TempDir Path dir;

  /** Fails the {@code nth} call named {@code call} with {@code code}. */
  static DriverCalls.Faults failing(String call, int nth, int code) {
    AtomicInteger seen = new AtomicInteger();
    return c -> c.equals(call) && seen.incrementAndGet() == nth ? code : 0;
  }

  /** The suite's device ({@code $NODAL_TEST_DEVICE}); skips, or fails under NODAL_REQUIRE_OPENCL=1, without OpenCL. */
  static DeviceInfo device() {
    try (OpenClBackend b = (OpenClBackend) OpenClTests.backend()) {
      return b.device();
    }
  }

  @ParameterizedTest(name = "{0} #{1} -> {3}")
  @CsvSource({
      "clEnqueueNDRangeKernel, 30, -5, CL_OUT_OF_RESOURCES",
      "clEnqueueNDRangeKernel, 3, -54, CL_INVALID_WORK_GROUP_SIZE",
      "clEnqueueReadBuffer, 2, -4, CL_MEM_OBJECT_ALLOCATION_FAILURE",
      "clEnqueueWriteBuffer, 9, -5, CL_OUT_OF_RESOURCES",
      "clCreateBuffer, 3, -4, CL_MEM_OBJECT_ALLOCATION_FAILURE"})
  void aDriverErrorIsTypedNamedAndContained(String call, int nth, int code, String name) {
    DeviceInfo d = device();
    Graph g = Models.mlp(1, 6, 8, 3);
    OpenClBackend backend = new OpenClBackend(d, failing(call, nth, code));
    long baseline = backend.liveBuffers();
    OpenClException e = assertThrows(OpenClException.class, () -> {
      try (Session s = backend.compile(g, 4)) {
        s.setOptimizer(new Sgd(0.1f));
        for (int step = 0; step < 20; step++) {
          s.setInput((Input) g.node("x"), Models.uniform(24, step));
          s.setInput((Input) g.node("y"), Models.classes(4, 3, step));
          try {
            s.trainStep();
          } catch (OpenClException failure) {
            IllegalStateException after = assertThrows(IllegalStateException.class, s::forward);
            assertTrue(after.getMessage().startsWith("this session failed ("), after.getMessage());
            throw failure;
          }
        }
      }
    });
    assertEquals(name, e.error());
    assertEquals(code, e.code());
    assertTrue(e.getMessage().contains(call) && e.getMessage().contains(name) && e.getMessage().contains(d.toString()),
        e.getMessage());
    assertEquals(baseline, backend.liveBuffers(), "every device buffer is released");
    backend.close();
  }

  @Test
  void aBuildFailureCarriesTheLog() {
    DeviceInfo d = device();
    try (OpenClBackend backend = new OpenClBackend(d, failing("clBuildProgram", 1, -11))) {
      KernelBuildException e = assertThrows(KernelBuildException.class, () -> backend.compile(Models.mlp(1, 6, 8, 3), 4));
      assertTrue(e.getMessage().contains("failed to build") && e.device().contains(d.name()), e.getMessage());
      assertEquals(0, backend.liveBuffers(), "a failed compile keeps nothing on the device");
    }
  }

  @Test
  void trainingStopsWithTheLastCheckpointIntact() throws Exception {
    DeviceInfo d = device();
    FashionMnist.Splits data = FashionMnist.read(TestData.smallFashionMnist());
    Graph g = ModelZoo.mlp(3, 784, 10, 16);
    TrainerSettings settings = TrainerSettings.builder().model("mlp 784-16-10").epochs(3).batchSize(100).build();
    // An epoch of 1,000 images reads the loss and the logits of 10 steps, then evaluates 200 test
    // images: about 25 reads. The 35th falls in the second epoch.
    try (OpenClBackend backend = new OpenClBackend(d, failing("clEnqueueReadBuffer", 35, -5));
        RunFolder run = new RunFolder(dir.resolve("run"), 0)) {
      OpenClException e = assertThrows(OpenClException.class,
          () -> new Trainer(g, settings, backend, run).train(data.train(), data.test(), null, 3));
      assertEquals("CL_OUT_OF_RESOURCES", e.error());
    }
    Checkpoint.Loaded last = Checkpoint.load(dir.resolve("run"));
    assertEquals(1, last.trainer().epochsDone(), "the checkpoint of epoch 1 is intact");
  }

  @Test
  void noPlatformIsSaidWithTheFixAndAutoFallsBack() {
    device();
    OpenCl.Probe probe = OpenCl.discover(OpenClOptions.defaults(), failing("clGetPlatformIDs", 1, -1001));
    assertTrue(probe.error().contains("found no platform: no driver (ICD) is registered"), probe.error());
    assertTrue(probe.fix().contains("pocl-opencl-icd"), probe.fix());
    assertEquals("cpu", dev.nodal.devices.BackendsAccess.open("auto", probe).name());
    IllegalStateException e = assertThrows(IllegalStateException.class,
        () -> dev.nodal.devices.BackendsAccess.open("opencl", probe));
    assertTrue(e.getMessage().contains("needs OpenCL, which is not usable"), e.getMessage());
  }

  @Test
  void anOptimizerWhoseStateCannotBeAllocatedLeavesNothingBehind() {
    DeviceInfo d = device();
    java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean();
    OpenClBackend backend = new OpenClBackend(d, call -> armed.get() && call.equals("clCreateBuffer") ? -4 : 0);
    Session s = backend.compile(Models.mlp(1, 6, 8, 3), 4);
    armed.set(true);
    OpenClException e = assertThrows(OpenClException.class, () -> s.setOptimizer(dev.nodal.optim.Adam.adam().build()));
    assertEquals("CL_MEM_OBJECT_ALLOCATION_FAILURE", e.error());
    assertEquals(null, s.optimizer(), "the optimizer that could not be installed is not the session's");
    assertThrows(IllegalStateException.class, s::forward, "the session refuses work after a device failure");
    s.close();
    assertEquals(0, backend.liveBuffers(), "every device buffer is released");
    backend.close();
  }
}
