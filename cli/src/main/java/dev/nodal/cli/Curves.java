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
 * A run folder's {@code curves.png}: loss and accuracy per epoch, drawn with XChart. Where the
 * Java runtime cannot draw (no java.desktop, no fonts), it is skipped with one notice.
 */
final class Curves implements RunFolder.Plot {
  private static final Logger log = LoggerFactory.getLogger(Curves.class);
  private boolean unavailable;

  @Override
  public void draw(Path folder, List<EpochMetrics> rows) throws IOException {
    if (unavailable) return;
    byte[] png;
    try {
      png = png(rows);
    } catch (LinkageError | Exception e) {
      unavailable = true;
      log.info("curves.png skipped: this Java runtime cannot draw ({}); metrics.csv has the same figures", e.toString());
      return;
    }
    AtomicFiles.write(folder.resolve("curves.png"), png);
  }

  private static byte[] png(List<EpochMetrics> rows) throws IOException {
    System.setProperty("java.awt.headless", "true");
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
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
    return out.toByteArray();
  }
}
