package example.consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class XorTest {
  @TempDir Path dir;

  @Test
  void nodalBringsNoLoggingBindingAndNoCommandLineLibraries() {
    List<String> classPath = Arrays.asList(System.getProperty("java.class.path").split(File.pathSeparator));
    System.out.println("run-time class path: " + classPath.stream().map(p -> Path.of(p).getFileName().toString()).toList());
    assertTrue(classPath.stream().anyMatch(p -> p.contains("nodal")), "Nodal is on the class path: " + classPath);
    for (String p : classPath) {
      String name = Path.of(p).getFileName().toString();
      for (String unwanted : List.of("logback", "picocli", "progressbar", "xchart")) {
        assertTrue(!name.contains(unwanted), name + " is on the run-time class path");
      }
    }
    for (String cls : List.of("ch.qos.logback.classic.LoggerContext", "picocli.CommandLine", "dev.nodal.cli.Main")) {
      assertThrows(ClassNotFoundException.class, () -> Class.forName(cls), cls + " is loadable");
    }
    assertEquals(null, XorTest.class.getResource("/logback.xml"), "a logback.xml on the class path");
  }

  @Test
  void trainsSavesLoadsAndPredictsXor() throws Exception {
    Path checkpoint = dir.resolve("xor");
    assertArrayEquals(new int[] {0, 1, 1, 0}, Xor.trainSaveLoadPredict(checkpoint, "cpu"));
    assertTrue(Files.isRegularFile(checkpoint.resolve("weights.safetensors")));
  }

  @Test
  void runsOnTheBestDevicePresent() throws Exception {
    assertArrayEquals(new int[] {0, 1, 1, 0}, Xor.trainSaveLoadPredict(dir.resolve("auto"), "auto"));
  }
}
