package dev.nodal.optim;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Stochastic gradient descent's settings ({@link Sgd}): every value finite, the learning rate
 * above 0, momentum in [0, 1), weight decay and clipping norm at least 0, and Nesterov only with
 * momentum. {@link Sgd#builder()} names them and starts from the defaults of {@link #KEYS}.
 */
public record SgdSpec(float learningRate, float momentum, boolean nesterov, float weightDecay, float clipNorm)
    implements OptimizerSpec {
  static final HyperParameter LR = HyperParameter.learningRate(0.01f);
  static final HyperParameter MOMENTUM = HyperParameter.factor("momentum", 0f);
  static final HyperParameter NESTEROV = HyperParameter.flag("nesterov", false);
  static final HyperParameter WEIGHT_DECAY = HyperParameter.weightDecay(0f);

  /** lr, momentum, nesterov, weight_decay, clip_norm. */
  public static final List<HyperParameter> KEYS = List.of(LR, MOMENTUM, NESTEROV, WEIGHT_DECAY, HyperParameter.CLIP_NORM);

  public SgdSpec {
    LR.check("sgd", learningRate);
    MOMENTUM.check("sgd", momentum);
    WEIGHT_DECAY.check("sgd", weightDecay);
    HyperParameter.CLIP_NORM.check("sgd", clipNorm);
    if (nesterov && momentum == 0) throw new IllegalArgumentException("sgd: nesterov needs momentum > 0");
  }

  @Override
  public String name() {
    return "sgd";
  }

  @Override
  public List<HyperParameter> keys() {
    return KEYS;
  }

  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    a.put("lr", learningRate);
    a.put("momentum", momentum);
    a.put("nesterov", nesterov);
    a.put("weight_decay", weightDecay);
    a.put("clip_norm", clipNorm);
    return a;
  }

  @Override
  public List<String> slots() {
    return momentum > 0 ? List.of("momentum") : List.of();
  }

  @Override
  public Sgd make() {
    return new Sgd(this);
  }
}
