package dev.nodal.train;

import dev.nodal.backend.Session;
import dev.nodal.data.Batches;
import dev.nodal.io.TrainerSettings;

/**
 * What a {@link Trainer} trains a graph to do: the task owns its data, cuts it into batches, says
 * what its figures are called and evaluates a session on its held-out data. The graph's loss is a
 * softmax cross-entropy whose first input (the logits) the trainer keeps; a batch's features and
 * labels go to the graph's inputs as {@link Evaluation} finds them.
 *
 * @see ImageClassification
 * @see LanguageModelling
 */
public interface Task {
  /** The training batches of a run with {@code settings} (batch size, seed, steps per epoch). */
  Batches training(TrainerSettings settings);

  /** Loss and accuracy on the held-out data, forward passes only, in evaluation mode. */
  Evaluation evaluate(Session session);

  /** The training data as the log names it, for example "60000 examples". */
  String describe();

  /** The columns of the run's metrics.csv. */
  RunFolder.Columns columns();
}
