package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code nodal generate} on a tiny gpt trained for a few steps, and its refusals. */
class GenerateCommandTest {
  @TempDir static Path dir;
  static Path run;

  @BeforeAll
  static void trainATinyGpt() throws Exception {
    Path text = dir.resolve("mill.txt");
    Files.writeString(text, "The miller opened the gate, and the water turned the wheel. ".repeat(30),
        StandardCharsets.UTF_8);
    run = dir.resolve("run");
    TrainCommandTest.run("train", "--model", "gpt", "--data", text.toString(), "--out", run.toString(), "--device",
        "cpu", "--context", "8", "--layers", "1", "--heads", "2", "--width", "16", "--batch-size", "4", "--eval-every",
        "3", "--epochs", "2", "--seed", "5");
  }

  private static CliBehaviourTest.Outcome generate(String... extra) {
    String[] args = new String[extra.length + 3];
    args[0] = "generate";
    args[1] = "--checkpoint";
    args[2] = run.toString();
    System.arraycopy(extra, 0, args, 3, extra.length);
    return CliBehaviourTest.run(args);
  }

  @Test
  void oneSeedWritesOneTextAfterThePrompt() {
    CliBehaviourTest.Outcome a = generate("--prompt", "The mill", "--tokens", "30", "--seed", "9");
    CliBehaviourTest.Outcome b = generate("--prompt", "The mill", "--tokens", "30", "--seed", "9");
    assertEquals(0, a.code(), a.err());
    assertEquals(a.out(), b.out());
    assertTrue(a.out().startsWith("The mill"), a.out());
    assertTrue(a.err().contains("30 bytes in "), a.err());
    assertNotEquals(a.out(), generate("--prompt", "The mill", "--tokens", "30", "--seed", "10").out(), "another seed");
    String greedy = generate("--prompt", "The mill", "--tokens", "30", "--temperature", "0", "--seed", "1").out();
    assertEquals(greedy, generate("--prompt", "The mill", "--tokens", "30", "--temperature", "0", "--seed", "2").out(),
        "greedy draws no numbers");
  }

  @Test
  void aLongPromptIsCutWithANoticeAndAnEmptyOneIsAllowed() {
    CliBehaviourTest.Outcome longer = generate("--prompt", "and the water turned", "--tokens", "20", "--top-k", "3");
    assertEquals(0, longer.code(), longer.err());
    assertTrue(longer.err().contains("the prompt has 20 bytes, more than the model's context of 8; the model sees its "
        + "last 8 bytes only"), longer.err());
    CliBehaviourTest.Outcome empty = generate("--tokens", "5");
    assertEquals(0, empty.code(), empty.err());
  }

  @Test
  void badOptionsAndOtherModelsAreRefusedByName() throws Exception {
    for (String[] bad : new String[][] {{"--tokens", "0", "--tokens must be at least 1, got 0"},
        {"--temperature", "-1", "--temperature must be 0 (greedy) or more, got -1.0"},
        {"--top-k", "-2", "--top-k must be 0 (every byte) or more, got -2"}}) {
      CliBehaviourTest.Outcome r = generate(bad[0], bad[1]);
      assertEquals(1, r.code(), r.err());
      assertEquals("nodal generate: " + bad[2], r.err().strip());
    }
    Path mlp = dir.resolve("mlp");
    TrainCommandTest.run("train", "--model", "mlp", "--data", TrainCommandTest.subset().toString(), "--epochs", "1",
        "--batch-size", "100", "--out", mlp.toString(), "--device", "cpu");
    CliBehaviourTest.Outcome r = CliBehaviourTest.run("generate", "--checkpoint", mlp.toString());
    assertEquals(1, r.code(), r.err());
    assertTrue(r.err().contains(mlp.resolve("checkpoint") + " holds the model 'mlp', not a gpt"), r.err());
  }

  @Test
  void bytesPrintAsUtf8OnceTheirCharacterIsComplete() {
    ByteArrayOutputStream buf = new ByteArrayOutputStream();
    Utf8Output out = new Utf8Output(new PrintStream(buf, true, StandardCharsets.UTF_8));
    byte[] euro = "€".getBytes(StandardCharsets.UTF_8);
    out.write('a');
    out.write(euro[0]);
    out.write(euro[1]);
    assertEquals("a", buf.toString(StandardCharsets.UTF_8), "half a character is held");
    out.write(euro[2]);
    assertEquals("a€", buf.toString(StandardCharsets.UTF_8));
    out.write(0xff);
    out.write(0xe2);
    out.finish();
    assertEquals("a€\uFFFD\uFFFD", buf.toString(StandardCharsets.UTF_8));
  }
}
