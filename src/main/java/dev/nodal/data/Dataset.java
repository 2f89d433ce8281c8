package dev.nodal.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Examples in memory: {@code size} feature rows of {@code featureSize} floats and one class
 * index per example (stored as a float, as the graph's labels input expects).
 */
public record Dataset(String name, float[] features, float[] labels, int size, int featureSize, int classes) {

  public Dataset {
    if (features.length != (long) size * featureSize || labels.length != size) {
      throw new IllegalArgumentException(name + ": " + features.length + " features and " + labels.length
          + " labels do not make " + size + " examples of " + featureSize);
    }
  }

  /**
   * Images and labels from two IDX files, pixels scaled to [0, 1]. The files must hold the same
   * number of items and labels must be below {@code classes}.
   */
  public static Dataset fromIdx(Path images, Path labels, int classes) throws DataException {
    return fromIdx(images.getFileName().toString(), images.toString(), Idx.read(images), labels.toString(),
        Idx.read(labels), classes);
  }

  /**
   * The data set {@code name} of images and labels already read (from any file system), pixels
   * scaled to [0, 1]; {@code imagesFile} and {@code labelsFile} name them in errors.
   */
  public static Dataset fromIdx(String name, String imagesFile, Idx.Array img, String labelsFile, Idx.Array lab,
      int classes) throws DataException {
    Idx.checkImagesAndLabels(imagesFile, new Idx.Header(img.dims()), labelsFile, new Idx.Header(lab.dims()));
    int n = img.count(), per = img.itemSize();
    float[] x = new float[n * per];
    byte[] px = img.data();
    for (int i = 0; i < x.length; i++) x[i] = pixel(px[i]);
    float[] y = new float[n];
    for (int i = 0; i < n; i++) {
      int v = lab.data()[i] & 0xff;
      if (v >= classes) throw new DataException(labelsFile + ": label " + v + " of item " + i + " is not below " + classes);
      y[i] = v;
    }
    return new Dataset(name, x, y, n, per, classes);
  }

  /** An unsigned-byte pixel scaled to [0, 1], as every IDX reader of Nodal's scales it. */
  public static float pixel(byte value) {
    return (value & 0xff) / 255f;
  }

  /**
   * A CSV file of numeric columns, one example per row; {@code labelColumn} (0-based, negative
   * counts from the end) holds the class index and every other column is a feature. A first line
   * none of whose cells is a number is taken as a header; any other cell that is not a finite
   * number is an error naming its line and column.
   */
  public static Dataset fromCsv(Path file, int labelColumn, int classes) throws DataException {
    List<float[]> rows = new ArrayList<>();
    List<Integer> lines = new ArrayList<>();
    int columns = -1;
    int headerLine = 0;
    try (BufferedReader r = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      int lineNo = 0;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (line.isBlank()) continue;
        String[] cells = line.split(",", -1);
        if (columns < 0 && java.util.Arrays.stream(cells).noneMatch(Dataset::isNumber)) {
          columns = cells.length; // header
          headerLine = lineNo;
          continue;
        }
        if (columns < 0) columns = cells.length;
        float[] row = new float[cells.length];
        for (int i = 0; i < cells.length; i++) {
          String cell = cells[i].trim();
          if (!isNumber(cell)) {
            throw new DataException(file + ":" + lineNo + ": column " + (i + 1) + " is "
                + (cell.isEmpty() ? "empty" : "'" + cell + "'") + ", not a number");
          }
          row[i] = Float.parseFloat(cell);
          if (!Float.isFinite(row[i])) {
            throw new DataException(file + ":" + lineNo + ": column " + (i + 1) + " is " + cell
                + "; values must be finite numbers");
          }
        }
        if (cells.length != columns) {
          throw new DataException(file + ":" + lineNo + ": " + cells.length + " columns, expected " + columns);
        }
        rows.add(row);
        lines.add(lineNo);
      }
    } catch (DataException e) {
      throw e;
    } catch (IOException e) {
      throw new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
    if (rows.isEmpty()) {
      throw new DataException(file + ": no data rows" + (headerLine > 0 ? " (line " + headerLine
          + ", where no cell is a number, is the header)" : ""));
    }
    int label = labelColumn < 0 ? columns + labelColumn : labelColumn;
    if (label < 0 || label >= columns) throw new DataException(file + ": label column " + labelColumn + " is outside its " + columns + " columns");
    int per = columns - 1;
    float[] x = new float[rows.size() * per];
    float[] y = new float[rows.size()];
    for (int i = 0; i < rows.size(); i++) {
      float[] row = rows.get(i);
      float v = row[label];
      if (!(v >= 0 && v < classes && v == Math.rint(v))) {
        throw new DataException(file + ":" + lines.get(i) + ": column " + (label + 1) + ", the label, is " + v
            + ", not a class index in [0, " + classes + ")");
      }
      y[i] = v;
      for (int c = 0, k = 0; c < columns; c++) if (c != label) x[i * per + k++] = row[c];
    }
    return new Dataset(file.getFileName().toString(), x, y, rows.size(), per, classes);
  }

  /** True when the cell, trimmed, parses as a float (finite or not). */
  private static boolean isNumber(String cell) {
    try {
      Float.parseFloat(cell.trim());
      return true;
    } catch (NumberFormatException e) {
      return false;
    }
  }
}
