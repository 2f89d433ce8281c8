package dev.nodal.train;

import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;

/**
 * The nodes a classifier graph is driven through: its feature input, its labels input and its
 * logits (the first input of the loss, a softmax cross-entropy).
 */
record Classifier(Input features, Input labels, Node logits) {

  static Classifier of(Graph g) {
    if (g.loss() == null || g.loss().inputs().isEmpty()) throw new IllegalArgumentException("the graph has no classifier loss");
    Input x = g.inputs().stream().filter(i -> !i.isLabels()).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("the graph has no feature input"));
    Input y = g.inputs().stream().filter(Input::isLabels).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("the graph has no labels input"));
    return new Classifier(x, y, g.loss().inputs().get(0));
  }

  /** Sets one batch on both inputs. */
  void feed(Session s, BatchLoader.Batch b) {
    s.setInput(features, b.features());
    s.setInput(labels, b.labels());
  }

  /** How many rows of the session's logits have their largest score at the batch's label. */
  int correct(Session s, BatchLoader.Batch b) {
    return Evaluation.correct(s.value(logits), b.labels(), b.n());
  }
}
