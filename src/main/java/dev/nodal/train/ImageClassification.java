package dev.nodal.train;

import dev.nodal.backend.Session;
import dev.nodal.data.BatchLoader;
import dev.nodal.data.Batches;
import dev.nodal.data.Dataset;
import dev.nodal.io.TrainerSettings;

/**
 * Classification of examples (Fashion-MNIST's images, say): each epoch is one seeded shuffle of the
 * training examples ({@link BatchLoader}), evaluated on all test examples.
 */
public record ImageClassification(Dataset train, Dataset test) implements Task {

  /** @throws IllegalArgumentException when the settings ask for epochs other than one pass */
  @Override
  public Batches training(TrainerSettings settings) {
    if (settings.stepsPerEpoch() != 0) {
      throw new IllegalArgumentException("an epoch of classification is one pass over the training examples; "
          + "steps per epoch must be 0, got " + settings.stepsPerEpoch());
    }
    return new BatchLoader(train, settings.batchSize(), true, settings.seed());
  }

  @Override
  public Evaluation evaluate(Session session) {
    return Evaluation.of(session, test);
  }

  @Override
  public String describe() {
    return train.size() + " examples";
  }

  @Override
  public RunFolder.Columns columns() {
    return RunFolder.Columns.CLASSIFIER;
  }
}
