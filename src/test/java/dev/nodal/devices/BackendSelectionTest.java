package dev.nodal.devices;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.OpenCl;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

/** Device selection when OpenCL is unusable: never a silent fallback. */
class BackendSelectionTest {
  private static final OpenCl.Probe BROKEN = new OpenCl.Probe(null, "/usr/lib/x86_64-linux-gnu, /usr/lib",
      "the OpenCL loader could not be loaded: test", "install ocl-icd-libopencl1", List.of());

  @Test
  void autoFallsBackToTheCpuWithAWarningPerBackendThatSaysWhyAndHow() {
    Logger logger = (Logger) LoggerFactory.getLogger(Backends.class);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    logger.addAppender(seen);
    try {
      assertEquals("cpu", Backends.open("auto", BROKEN).name());
      assertEquals("cpu", Backends.open("auto", BROKEN).name());
      List<ILoggingEvent> warnings = seen.list.stream().filter(e -> e.getLevel() == Level.WARN).toList();
      assertEquals(2, warnings.size(), "one warning for each backend opened (no process-wide flag): " + warnings);
      warnings.forEach(w -> {
        assertTrue(w.getFormattedMessage().contains("the OpenCL loader could not be loaded: test"), w.getFormattedMessage());
        assertTrue(w.getFormattedMessage().contains("Fix: install ocl-icd-libopencl1"), w.getFormattedMessage());
      });
    } finally {
      logger.detachAppender(seen);
    }
  }

  @Test
  void anExplicitOpenClRequestIsAnErrorNotAFallback() {
    IllegalStateException e = assertThrows(IllegalStateException.class, () -> Backends.open("opencl", BROKEN));
    assertTrue(e.getMessage().contains("needs OpenCL, which is not usable: the OpenCL loader could not be loaded"), e.getMessage());
    assertThrows(IllegalStateException.class, () -> Backends.open("opencl:0:0", BROKEN));
    assertEquals("cpu", Backends.open("cpu", BROKEN).name());
  }

  @Test
  void autoFallsBackWhenTheGpuCannotBeOpened() {
    DeviceInfo broken = new DeviceInfo(0, 0, null, null, "p", "OpenCL 3.0", "a GPU that will not open", "v", "GPU",
        "OpenCL 3.0", "1", "OpenCL C 1.2", 8, 1L << 30, 48 << 10, 1L << 28, 1024, false, true, 1024);
    OpenCl.Probe probe = new OpenCl.Probe("/usr/lib/x86_64-linux-gnu/libOpenCL.so", "/usr/lib/x86_64-linux-gnu", null,
        null, List.of(broken));
    Logger logger = (Logger) LoggerFactory.getLogger(Backends.class);
    ListAppender<ILoggingEvent> seen = new ListAppender<>();
    seen.start();
    logger.addAppender(seen);
    try {
      assertEquals("cpu", Backends.open("auto", probe).name());
      assertTrue(seen.list.stream().anyMatch(e -> e.getLevel() == Level.WARN
          && e.getFormattedMessage().contains("a GPU that will not open") && e.getFormattedMessage().contains("Fix:")),
          seen.list.toString());
    } finally {
      logger.detachAppender(seen);
    }
    assertThrows(RuntimeException.class, () -> Backends.open("opencl", probe), "an explicit request is an error");
  }

  /** Through the Java API too: an index too large for any platform or device names the selector. */
  @Test
  void anIndexPastAnyThereCanBeIsAnErrorNamingTheSelector() {
    int refused = 0;
    for (String selector : List.of("opencl:99999999999:0", "opencl:0:99999999999", "OPENCL:2147483648:1")) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.open(selector, BROKEN));
      assertTrue(e.getMessage().startsWith("device '" + selector + "': ") && e.getMessage().contains(" is out of range; "
          + "nodal devices lists the devices there are"), e.getMessage());
      assertThrows(IllegalArgumentException.class, () -> Backends.checkSelector(selector));
      refused++;
    }
    assertEquals("opencl:2147483647:0", Backends.checkSelector("opencl:2147483647:0"), "the largest index is a form like any");
    System.out.printf("selectors with an index past any: %d refused%n", refused);
    assertEquals(3, refused);
  }
}
