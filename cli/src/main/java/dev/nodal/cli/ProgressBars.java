package dev.nodal.cli;

import dev.nodal.train.Trainer;
import java.util.Locale;
import me.tongfei.progressbar.ConsoleProgressBarConsumer;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * A progress bar per epoch on an interactive terminal; nothing when output goes to a file or
 * pipe. It redraws its own line with a carriage return and ends that line when it closes, so the
 * next log line starts a line of its own; it never moves the cursor up, which would overwrite a
 * line printed below it meanwhile (a native library's warning, say).
 */
final class ProgressBars implements Trainer.Progress {
  private ProgressBar bar;

  /** Progress bars where standard error is a terminal, else {@link Trainer.Progress#NONE}. */
  static Trainer.Progress onTerminal() {
    return System.console() == null ? Trainer.Progress.NONE : new ProgressBars();
  }

  @Override
  public void epochStarted(int epoch, int batches) {
    bar = new ProgressBarBuilder().setTaskName("epoch " + epoch).setInitialMax(batches).setStyle(ProgressBarStyle.ASCII)
        .setUpdateIntervalMillis(250).setConsumer(new ConsoleProgressBarConsumer(System.err, 110)).build();
  }

  @Override
  public void step(double meanLoss, double accuracy, double samplesPerSecond) {
    bar.step();
    bar.setExtraMessage(String.format(Locale.ROOT, " loss %.4f acc %.4f %.0f/s", meanLoss, accuracy, samplesPerSecond));
  }

  @Override
  public void epochEnded() {
    if (bar != null) bar.close();
    bar = null;
  }
}
