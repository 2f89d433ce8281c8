package dev.nodal.train;

import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;

/**
 * The nodes a classifier graph is driven through: its feature input, its labels input and its
 * logits (the first input of the loss, a softmax cross-entropy). The labels are the loss's second
 * input when that is an input, else the graph's first labels input; the features are the first
 * other input that is not labels, else (token ids, say) the first other input.
 */
record Classifier(Input features, Input labels, Node logits) {

  static Classifier of(Graph g) {
    if (g.loss() == null || g.loss().inputs().isEmpty()) throw new IllegalArgumentException("the graph has no classifier loss");
    Input y = g.loss().inputs().size() > 1 && g.loss().inputs().get(1) instanceof Input in && in.isLabels() ? in
        : g.inputs().stream().filter(Input::isLabels).findFirst()
            .orElseThrow(() -> new IllegalArgumentException("the graph has no labels input"));
    Input x = g.inputs().stream().filter(i -> i != y && !i.isLabels()).findFirst()
        .or(() -> g.inputs().stream().filter(i -> i != y).findFirst())
        .orElseThrow(() -> new IllegalArgumentException("the graph has no feature input"));
    return new Classifier(x, y, g.loss().inputs().get(0));
  }

  /** Sets one batch on both inputs. */
  void feed(Session s, BatchLoader.Batch b) {
    s.setInput(features, b.features());
    s.setInput(labels, b.labels());
  }

  /** How many rows of the session's logits have their largest score at the batch's label (one per label). */
  int correct(Session s, BatchLoader.Batch b) {
    return Evaluation.correct(s.value(logits), b.labels(), b.labels().length);
  }
}
