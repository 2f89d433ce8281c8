package dev.nodal.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the command line prints is read by scripts and by people on any machine: numbers carry a
 * dot decimal whatever the default locale, here German, whose own is a comma.
 */
class LocaleIndependenceTest {
  private static final Locale GERMAN = Locale.forLanguageTag("de-DE");
  /** A decimal comma between digits, as German formats 1.5. */
  private static final Pattern COMMA_DECIMAL = Pattern.compile("\\d,\\d");

  @TempDir Path dir;

  @Test
  void benchEvalTrainParityAndPlanPrintDotDecimalsUnderAGermanDefaultLocale() throws Exception {
    Assumptions.assumeTrue(String.format(GERMAN, "%.1f", 1.5).equals("1,5"),
        "this Java runtime has no German locale data (module jdk.localedata), so it cannot show the difference");
    Locale saved = Locale.getDefault();
    Locale savedFormat = Locale.getDefault(Locale.Category.FORMAT);
    Locale savedDisplay = Locale.getDefault(Locale.Category.DISPLAY);
    Locale.setDefault(GERMAN);
    try {
      CliBehaviourTest.Outcome bench = CliBehaviourTest.run("bench", "gemm", "--device", "cpu,cpu", "--size", "32",
          "--repeats", "1", "--inner", "1");
      assertEquals(0, bench.code(), bench.err());
      assertTrue(Pattern.compile("min \\d+\\.\\d{3} ms, median \\d+\\.\\d{3} ms per op \\(\\d+\\.\\d GFLOP/s at min\\)")
          .matcher(bench.out()).find(), bench.out());
      assertTrue(Pattern.compile("\\d\\.\\d\\d× (faster|slower) than cpu").matcher(bench.out()).find(), bench.out());
      assertNoCommaDecimal(bench.out());

      Path run = dir.resolve("run");
      String subset = TrainCommandTest.subset().toString();
      CliBehaviourTest.Outcome train = CliBehaviourTest.run("train", "--data", subset, "--out", run.toString(),
          "--epochs", "1", "--batch-size", "100", "--device", "cpu", "--seed", "3");
      assertEquals(0, train.code(), train.err());
      assertTrue(Pattern.compile("Done: test accuracy \\d\\.\\d{4} ").matcher(train.out()).find(), train.out());
      assertNoCommaDecimal(train.out());

      CliBehaviourTest.Outcome eval = CliBehaviourTest.run("eval", "--checkpoint", run.toString(), "--data", subset,
          "--device", "cpu");
      assertEquals(0, eval.code(), eval.err());
      Matcher m = Pattern.compile("test loss (\\S+) accuracy (\\S+) ").matcher(eval.out());
      assertTrue(m.find(), eval.out());
      Double.parseDouble(m.group(1));
      Double.parseDouble(m.group(2));

      CliBehaviourTest.Outcome parity = CliBehaviourTest.run("parity", "--device", "cpu", "--reference", "cpu",
          "--batch", "4");
      assertEquals(0, parity.code(), parity.err());
      Matcher e = Pattern.compile("\\s(-?\\d\\S*e[+-]\\d+)").matcher(parity.out());
      int numbers = 0;
      for (; e.find(); numbers++) Double.parseDouble(e.group(1));
      assertTrue(numbers > 10, parity.out());
      assertNoCommaDecimal(parity.out());

      CliBehaviourTest.Outcome plan = CliBehaviourTest.run("plan", "--device", "cpu");
      assertEquals(0, plan.code(), plan.err());
      assertTrue(Pattern.compile("\\d+\\.\\d\\d MiB").matcher(plan.out()).find(), plan.out());
      assertNoCommaDecimal(plan.out());
    } finally {
      Locale.setDefault(saved);
      Locale.setDefault(Locale.Category.FORMAT, savedFormat);
      Locale.setDefault(Locale.Category.DISPLAY, savedDisplay);
    }
  }

  private static void assertNoCommaDecimal(String printed) {
    assertFalse(COMMA_DECIMAL.matcher(printed).find(), "a decimal comma in:\n" + printed);
  }
}
