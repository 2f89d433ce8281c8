package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A damaged metrics.csv does not block {@code --resume}: the checkpoint holds the rows it covers,
 * and the resumed run rewrites the file from them before it adds its own.
 */
class DamagedMetricsResumeTest {
  @TempDir Path dir;

  @Test
  void resumeRewritesADamagedMetricsFileFromTheCheckpoint() throws Exception {
    Map<String, byte[]> damages = new LinkedHashMap<>();
    damages.put("not UTF-8", new byte[] {(byte) 0xff, (byte) 0xfe, (byte) 0xc3, '\n'});
    damages.put("a word for a number", "epoch,step\nabc,10,0.5,0.5,0.5,0.5,1\n".getBytes(StandardCharsets.UTF_8));
    damages.put("a short row", "1,10\n".getBytes(StandardCharsets.UTF_8));
    damages.put("a long row", "1,10,0.5,0.5,0.5,0.5,1,9\n".getBytes(StandardCharsets.UTF_8));
    damages.put("empty", new byte[0]);
    damages.put("a row of a later epoch", "7,70,0.5,0.5,0.5,0.5,1\n".getBytes(StandardCharsets.UTF_8));
    Path run = dir.resolve("run");
    String data = TrainCommandTest.subset().toString();
    TrainCommandTest.run("train", "--data", data, "--out", run.toString(), "--epochs", "1", "--batch-size", "100",
        "--device", "cpu", "--seed", "3");
    int epochs = 1, resumed = 0;
    for (var damage : damages.entrySet()) {
      Files.write(run.resolve("metrics.csv"), damage.getValue());
      epochs++;
      TrainCommandTest.run("train", "--resume", run.toString(), "--epochs", Integer.toString(epochs), "--data", data,
          "--device", "cpu");
      List<String> rows = Files.readAllLines(run.resolve("metrics.csv")).stream().skip(1).toList();
      assertEquals(epochs, rows.size(), damage.getKey() + ": " + rows);
      for (int i = 0; i < rows.size(); i++) assertEquals(Integer.toString(i + 1), rows.get(i).split(",")[0], damage.getKey());
      resumed++;
    }
    System.out.printf("%d damaged metrics.csv files: %d resumed runs with every epoch's row%n", damages.size(), resumed);
  }
}
