package dev.nodal.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Adam's and AdamW's settings ({@link Adam}; {@code decoupled} makes it AdamW): every value finite,
 * the learning rate and ε above 0, β1 and β2 in [0, 1), weight decay and clipping norm at least 0.
 * {@link Adam#adam()} and {@link Adam#adamW()} name them and start from the defaults of
 * {@link #ADAM_KEYS} and {@link #ADAMW_KEYS}, which differ in weight decay only.
 */
public record AdamSpec(float learningRate, float beta1, float beta2, float eps, float weightDecay, float clipNorm,
    boolean decoupled) implements OptimizerSpec {
  static final HyperParameter LR = HyperParameter.learningRate(0.001f);
  static final HyperParameter BETA1 = HyperParameter.factor("beta1", 0.9f);
  static final HyperParameter BETA2 = HyperParameter.factor("beta2", 0.999f);
  static final HyperParameter EPS = HyperParameter.number("eps", 1e-8f, 0, false, Double.POSITIVE_INFINITY);
  static final HyperParameter ADAM_WEIGHT_DECAY = HyperParameter.weightDecay(0f);
  static final HyperParameter ADAMW_WEIGHT_DECAY = HyperParameter.weightDecay(0.01f);

  /** lr, beta1, beta2, eps, weight_decay (default 0), clip_norm. */
  public static final List<HyperParameter> ADAM_KEYS = List.of(LR, BETA1, BETA2, EPS, ADAM_WEIGHT_DECAY,
      HyperParameter.CLIP_NORM);

  /** As {@link #ADAM_KEYS}, with weight_decay's default 0.01. */
  public static final List<HyperParameter> ADAMW_KEYS = List.of(LR, BETA1, BETA2, EPS, ADAMW_WEIGHT_DECAY,
      HyperParameter.CLIP_NORM);

  public AdamSpec {
    String name = decoupled ? "adamw" : "adam";
    LR.check(name, learningRate);
    BETA1.check(name, beta1);
    BETA2.check(name, beta2);
    EPS.check(name, eps);
    ADAM_WEIGHT_DECAY.check(name, weightDecay);
    HyperParameter.CLIP_NORM.check(name, clipNorm);
  }

  @Override
  public String name() {
    return decoupled ? "adamw" : "adam";
  }

  @Override
  public List<HyperParameter> keys() {
    return decoupled ? ADAMW_KEYS : ADAM_KEYS;
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("lr", learningRate);
    a.put("beta1", beta1);
    a.put("beta2", beta2);
    a.put("eps", eps);
    a.put("weight_decay", weightDecay);
    a.put("clip_norm", clipNorm);
    return a;
  }

  @Override
  public List<String> slots() {
    return List.of("exp_avg", "exp_avg_sq");
  }

  @Override
  public Adam make() {
    return new Adam(this);
  }
}
