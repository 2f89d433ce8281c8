package dev.nodal.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.testkit.SpecialFiles;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Atomic writes replace only what Nodal owns: a regular file (write) or a folder (replaceFolder),
 * or a missing one. A device, a FIFO, a socket, the wrong kind of file, or a symbolic link
 * (which may lead out of the folder named) is refused, and stays exactly as it was.
 */
class AtomicFilesTest {
  @TempDir Path inside;
  @TempDir Path outside;

  /** The special files to aim at, by a name that says what each is; those this machine cannot make are left out. */
  private Map<String, Path> targets(Path dir, boolean forFolders) throws IOException {
    Map<String, Path> t = new LinkedHashMap<>();
    put(t, "character device", SpecialFiles.charDevice(dir.resolve("null")));
    put(t, "FIFO", SpecialFiles.fifo(dir.resolve("fifo")));
    put(t, "socket", SpecialFiles.socket(dir.resolve("sock")));
    Path secretFile = Files.writeString(outside.resolve("secret.txt"), "outside the folder named");
    Path secretDir = Files.createDirectories(outside.resolve("secret-folder"));
    Files.writeString(secretDir.resolve("keep.txt"), "kept");
    t.put("link to a file outside", Files.createSymbolicLink(dir.resolve("link-file"), secretFile));
    t.put("link to a folder outside", Files.createSymbolicLink(dir.resolve("link-folder"), secretDir));
    t.put("dangling link outside", Files.createSymbolicLink(dir.resolve("link-dangling"), outside.resolve("absent")));
    if (forFolders) {
      t.put("regular file", Files.writeString(dir.resolve("plain.txt"), "a file where a folder belongs"));
    } else {
      Path folder = Files.createDirectories(dir.resolve("folder"));
      Files.writeString(folder.resolve("inner.txt"), "inner");
      t.put("folder", folder);
      t.put("below a regular file", Files.writeString(dir.resolve("plain.txt"), "a file").resolve("x.json"));
    }
    return t;
  }

  private static void put(Map<String, Path> t, String name, Path p) {
    if (p != null) t.put(name, p);
  }

  /** Everything in the two folders, each file's identity (type, device numbers, link, bytes). */
  private String snapshot() throws IOException {
    StringBuilder sb = new StringBuilder();
    for (Path root : new Path[] {inside, outside}) {
      try (var all = Files.walk(root)) {
        for (Path p : all.sorted().toList()) sb.append(p).append(": ").append(SpecialFiles.identity(p)).append('\n');
      }
    }
    return sb.toString();
  }

  private interface Write {
    void to(Path target) throws IOException;
  }

  /** Aims {@code write} at every target; returns how many were refused with a clear error and left as they were. */
  private int refusals(String what, Map<String, Path> targets, Write write) throws IOException {
    int refused = 0;
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, Path> t : targets.entrySet()) {
      String before = snapshot();
      try {
        write.to(t.getValue());
        failures.add(t.getKey() + ": accepted");
      } catch (IOException e) {
        String m = e.getMessage();
        if (!m.contains(t.getValue().getFileName().toString()) || !m.startsWith("will not")) {
          failures.add(t.getKey() + ": unclear error: " + m);
        } else if (!snapshot().equals(before)) {
          failures.add(t.getKey() + ": refused but changed:\n" + before + "->\n" + snapshot());
        } else {
          refused++;
        }
      }
    }
    System.out.printf("%s: %d of %d special targets refused and left unchanged (%s)%n", what, refused, targets.size(),
        String.join(", ", targets.keySet()));
    assertTrue(failures.isEmpty(), String.join("\n", failures));
    return refused;
  }

  @Test
  void writeReplacesOnlyARegularFile() throws IOException {
    Map<String, Path> targets = targets(inside, false);
    int refused = refusals("AtomicFiles.write", targets, p -> AtomicFiles.write(p, "new".getBytes(StandardCharsets.UTF_8)));
    assertEquals(targets.size(), refused);
    assertTrue(refused >= 7, "at least the FIFO, socket, folder, three links and the file-as-folder: " + refused);

    Path plain = Files.writeString(inside.resolve("plain.txt"), "old");
    AtomicFiles.write(plain, "new".getBytes(StandardCharsets.UTF_8));
    assertEquals("new", Files.readString(plain));
    Path fresh = inside.resolve("made/here.txt");
    AtomicFiles.write(fresh, "made".getBytes(StandardCharsets.UTF_8));
    assertEquals("made", Files.readString(fresh));
  }

  @Test
  void replaceFolderReplacesOnlyAFolder() throws IOException {
    Map<String, Path> targets = targets(inside, true);
    AtomicFiles.FolderWriter writer = dir -> Files.writeString(dir.resolve("x.txt"), "new");
    int refused = refusals("AtomicFiles.replaceFolder", targets, p -> AtomicFiles.replaceFolder(p, writer));
    // A .new or .old beside the folder that is not a folder is not Nodal's either: recovery leaves it alone.
    Path ckpt = inside.resolve("checkpoint");
    Files.createSymbolicLink(inside.resolve("checkpoint.new"), Files.createDirectories(outside.resolve("elsewhere")));
    int besides = refusals("AtomicFiles.replaceFolder beside a linked .new", Map.of("checkpoint.new", ckpt),
        p -> AtomicFiles.replaceFolder(p, writer));
    assertEquals(targets.size() + 1, refused + besides);

    Path folder = inside.resolve("run/checkpoint");
    AtomicFiles.replaceFolder(folder, writer);
    AtomicFiles.replaceFolder(folder, dir -> Files.writeString(dir.resolve("y.txt"), "newer"));
    assertEquals("newer", Files.readString(folder.resolve("y.txt")));
    assertTrue(Files.notExists(folder.resolve("x.txt")), "the folder was replaced as a whole");
  }

  @Test
  void checkReplaceableRefusesWithoutCreatingAnything() throws IOException {
    Path fifo = SpecialFiles.fifo(inside.resolve("fifo"));
    org.junit.jupiter.api.Assumptions.assumeTrue(fifo != null, "mkfifo is not available");
    String before = snapshot();
    IOException e = org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> AtomicFiles.checkReplaceable(fifo));
    assertEquals("will not write " + fifo + ": it is a FIFO (named pipe); only a regular file (or a missing one) is "
        + "replaced: name a file", e.getMessage());
    AtomicFiles.checkReplaceable(inside.resolve("not/yet/there.json"));
    assertEquals(before, snapshot(), "checking creates no folder and no file");
  }
}
