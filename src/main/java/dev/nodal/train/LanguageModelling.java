package dev.nodal.train;

import dev.nodal.backend.Session;
import dev.nodal.data.Batches;
import dev.nodal.data.TextCorpus;
import dev.nodal.io.TrainerSettings;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.SplittableRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Next-byte prediction on a text: windows of {@code context + 1} bytes at seeded random offsets of
 * the training part ({@link TextCorpus#training}), {@link TrainerSettings#stepsPerEpoch()} steps per
 * epoch, evaluated on evenly spaced windows of the held-out part ({@link TextCorpus#validation}).
 * The loss is in nats per byte; metrics.csv shows it in bits per byte too. After each evaluation
 * the log shows what the model writes: {@link #SAMPLE_BYTES} bytes sampled after the held-out
 * part's first window, control characters but newline and tab shown as U+FFFD.
 */
public record LanguageModelling(TextCorpus text, int context) implements Task {
  private static final Logger log = LoggerFactory.getLogger(LanguageModelling.class);

  /** Bytes of the sample that each evaluation logs. */
  public static final int SAMPLE_BYTES = 160;

  /** The sampling temperature of the logged sample. */
  public static final double TEMPERATURE = 0.8;

  @Override
  public Batches training(TrainerSettings settings) {
    return text.training(context, settings.batchSize(), settings.seed(), settings.stepsPerEpoch());
  }

  @Override
  public Evaluation evaluate(Session session) {
    Evaluation ev;
    try (Batches windows = text.validation(context, session.maxBatch())) {
      ev = Evaluation.of(session, windows);
    }
    if (log.isInfoEnabled()) {
      String shown = sample(session, SAMPLE_BYTES, TEMPERATURE, 0).replaceAll("[\\p{Cc}&&[^\\n\\t]]", "\uFFFD");
      log.info("sample: {}", shown.replace("\n", "\n  ")); // control characters, escapes too, would act on a terminal
    }
    return ev;
  }

  /**
   * The text the session's model writes after the held-out part's first {@code context} bytes:
   * {@code length} bytes, each drawn from the softmax of the last position's logits divided by
   * {@code temperature} (seeded by {@code seed}), the window sliding along; in evaluation mode, one
   * window at a time. Bytes that are no UTF-8 show as U+FFFD. The session must keep the logits
   * ({@link dev.nodal.backend.CompileOptions#keep}), as a {@link Trainer}'s session does.
   */
  public String sample(Session session, int length, double temperature, long seed) {
    if (!(temperature > 0)) throw new IllegalArgumentException("temperature must be above 0, got " + temperature);
    Classifier c = Classifier.of(session.graph());
    float[] window = new float[context];
    for (int t = 0; t < context; t++) window[t] = text.token(text.trainBytes() + t);
    byte[] out = new byte[length];
    SplittableRandom random = new SplittableRandom(seed);
    boolean training = session.training();
    session.setTraining(false);
    try {
      for (int i = 0; i < length; i++) {
        session.setInput(c.features(), window);
        session.setInput(c.labels(), window); // no loss is wanted, but every input needs a value
        session.forward();
        float[] logits = session.value(c.logits());
        int next = draw(logits, logits.length - TextCorpus.VOCAB, temperature, random);
        out[i] = (byte) next;
        System.arraycopy(window, 1, window, 0, context - 1);
        window[context - 1] = next;
      }
    } finally {
      session.setTraining(training);
    }
    return new String(out, StandardCharsets.UTF_8);
  }

  /** A byte drawn from the softmax of {@code logits[from .. from + 256) / temperature}. */
  private static int draw(float[] logits, int from, double temperature, SplittableRandom random) {
    double max = Double.NEGATIVE_INFINITY;
    for (int v = 0; v < TextCorpus.VOCAB; v++) max = Math.max(max, logits[from + v]);
    double[] p = new double[TextCorpus.VOCAB];
    double sum = 0;
    for (int v = 0; v < TextCorpus.VOCAB; v++) sum += p[v] = Math.exp((logits[from + v] - max) / temperature);
    double u = random.nextDouble() * sum;
    for (int v = 0; v < TextCorpus.VOCAB; v++) {
      u -= p[v];
      if (u < 0) return v;
    }
    return TextCorpus.VOCAB - 1;
  }

  @Override
  public String describe() {
    return String.format(Locale.ROOT, "%s: %d bytes, %d to train, %d held out, context %d", text.source(),
        text.size(), text.trainBytes(), text.validationBytes(), context);
  }

  @Override
  public RunFolder.Columns columns() {
    return RunFolder.Columns.LANGUAGE_MODEL;
  }
}
