package dev.nodal.cli;

import dev.nodal.io.AtomicFiles;
import dev.nodal.io.EpochMetrics;
import dev.nodal.train.RunFolder;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.style.Styler;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A run folder's {@code curves.png}, drawn with XChart: a classifier's loss and accuracy per epoch,
 * or a language model's training and validation loss per step, in nats and in bits per byte. Where
 * the Java runtime cannot draw (no java.desktop, no fonts), it is skipped with one notice. The
 * Spark module draws its run folders' curves with it too.
 */
public final class Curves implements RunFolder.Plot {
  private static final Logger log = LoggerFactory.getLogger(Curves.class);
  private final RunFolder.Columns columns;
  private boolean unavailable;

  /** Curves of the figures that {@code columns} name. */
  public Curves(RunFolder.Columns columns) {
    this.columns = columns;
  }

  @Override
  public void draw(Path folder, List<EpochMetrics> rows) throws IOException {
    if (unavailable || rows.isEmpty()) return; // no epoch yet: nothing to draw (XChart refuses empty series)
    byte[] png;
    System.setProperty("java.awt.headless", "true");
    try {
      png = columns == RunFolder.Columns.LANGUAGE_MODEL ? languageModel(rows) : png(rows);
    } catch (LinkageError | Exception e) {
      unavailable = true;
      log.info("curves.png skipped: this Java runtime cannot draw ({}); metrics.csv has the same figures", e.toString());
      return;
    }
    AtomicFiles.write(folder.resolve("curves.png"), png);
  }

  private static byte[] languageModel(List<EpochMetrics> rows) throws IOException {
    double[] steps = rows.stream().mapToDouble(EpochMetrics::step).toArray();
    var chart = new XYChartBuilder().width(900).height(500).title("Training").xAxisTitle("step").yAxisTitle("loss (nats)")
        .build();
    chart.addSeries("train loss", steps, rows.stream().mapToDouble(EpochMetrics::loss).toArray());
    chart.addSeries("validation loss", steps, rows.stream().mapToDouble(EpochMetrics::testLoss).toArray());
    chart.addSeries("train bits/byte", steps, rows.stream().mapToDouble(r -> RunFolder.Columns.bits(r.loss())).toArray())
        .setYAxisGroup(1);
    chart.addSeries("validation bits/byte", steps,
        rows.stream().mapToDouble(r -> RunFolder.Columns.bits(r.testLoss())).toArray()).setYAxisGroup(1);
    chart.setYAxisGroupTitle(1, "bits per byte");
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    return encode(chart);
  }

  private static byte[] png(List<EpochMetrics> rows) throws IOException {
    double[] epochs = rows.stream().mapToDouble(EpochMetrics::epoch).toArray();
    var chart = new XYChartBuilder().width(900).height(500).title("Training").xAxisTitle("epoch").yAxisTitle("loss").build();
    chart.addSeries("train loss", epochs, rows.stream().mapToDouble(EpochMetrics::loss).toArray());
    chart.addSeries("test loss", epochs, rows.stream().mapToDouble(EpochMetrics::testLoss).toArray());
    chart.addSeries("train accuracy", epochs, rows.stream().mapToDouble(EpochMetrics::trainAccuracy).toArray())
        .setYAxisGroup(1);
    chart.addSeries("test accuracy", epochs, rows.stream().mapToDouble(EpochMetrics::testAccuracy).toArray())
        .setYAxisGroup(1);
    chart.setYAxisGroupTitle(1, "accuracy");
    chart.getStyler().setYAxisGroupPosition(1, Styler.YAxisPosition.Right);
    return encode(chart);
  }

  private static byte[] encode(org.knowm.xchart.XYChart chart) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
    return out.toByteArray();
  }
}
