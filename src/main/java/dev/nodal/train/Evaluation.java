package dev.nodal.train;

import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.data.Batches;
import dev.nodal.data.Dataset;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Node;
import java.util.Iterator;

/**
 * Loss and accuracy of a classifier graph over a data set, forward passes only; for a language
 * model, the mean loss per byte (in nats) and the share of next bytes predicted right.
 */
public record Evaluation(double loss, double accuracy, int examples) {

  /**
   * Runs {@code data} through {@code session} in batches of at most its maximum batch, in
   * evaluation mode (running statistics, no dropout; the session's mode is restored after). The
   * graph's loss must be a softmax cross-entropy whose first input (the logits) is kept by the
   * session.
   */
  public static Evaluation of(Session session, Dataset data) {
    try (BatchLoader loader = new BatchLoader(data, session.maxBatch(), false, 0)) {
      return of(session, loader);
    }
  }

  /**
   * Runs the batches of {@code batches}' epoch 0 through {@code session} as {@link #of(Session,
   * Dataset)} does: the loss is the mean over the batches' rows, the accuracy the share of labels
   * (one per row, or one per position of a sequence) whose logits score highest, and the examples
   * are the rows.
   */
  public static Evaluation of(Session session, Batches batches) {
    Classifier c = Classifier.of(session.graph());
    double lossSum = 0;
    long correct = 0, rows = 0, labels = 0;
    boolean training = session.training();
    session.setTraining(false);
    try {
      for (Iterator<BatchLoader.Batch> it = batches.epoch(0); it.hasNext(); ) {
        BatchLoader.Batch b = it.next();
        c.feed(session, b);
        session.forward();
        lossSum += (double) session.loss() * b.n();
        correct += c.correct(session, b);
        rows += b.n();
        labels += b.labels().length;
      }
    } finally {
      session.setTraining(training);
    }
    return new Evaluation(lossSum / rows, (double) correct / labels, (int) rows);
  }

  /** The logits: the first input of the graph's loss. */
  public static Node logits(Graph g) {
    return Classifier.of(g).logits();
  }

  /** How many rows of {@code logits} have their largest score at the label. */
  public static int correct(float[] logits, float[] labels, int n) {
    int classes = logits.length / n, right = 0;
    for (int r = 0; r < n; r++) {
      int best = 0;
      for (int c = 1; c < classes; c++) if (logits[r * classes + c] > logits[r * classes + best]) best = c;
      if (best == (int) labels[r]) right++;
    }
    return right;
  }
}
