package dev.nodal.optim;

import java.io.Serializable;
import java.util.List;
import java.util.Map;

/**
 * What an optimizer is, apart from the state a run gives it: its kind and hyper-parameters,
 * immutable and checked when made. {@link #make()} gives a fresh {@link Optimizer} (step 0, no
 * schedule) each time, so one spec serves any number of sessions. Made by the builders
 * ({@code Sgd.builder()...spec()}, {@code Adam.adamW()...spec()}), by the records' constructors,
 * or from names and text by {@link Optimizers#spec}.
 */
public sealed interface OptimizerSpec extends Serializable permits SgdSpec, AdamSpec {
  /** {@code sgd}, {@code adam} or {@code adamw}: the name in checkpoints and on the command line. */
  String name();

  /** The base learning rate; a schedule attached to the optimizer scales it ({@link Optimizer#schedule(Schedule, long)}). */
  float learningRate();

  float weightDecay();

  /** The global gradient norm that updates clip to; 0 when they do not clip. */
  float clipNorm();

  /** Every hyper-parameter this kind of optimizer takes, in the order of {@link #attributes()}. */
  List<HyperParameter> keys();

  /** The hyper-parameters by their file names ({@code lr}, {@code momentum}, ...): Floats and Booleans. */
  Map<String, Object> attributes();

  /** The names of the per-parameter state arrays an optimizer of this spec keeps, for example {@code [exp_avg, exp_avg_sq]}. */
  List<String> slots();

  /** A fresh optimizer of this spec: step 0, no schedule. */
  Optimizer make();
}
