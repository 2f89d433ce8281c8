package dev.nodal.ops;

import dev.nodal.graph.Op;
import java.util.Map;

/** Creates an op from its kind and attributes, as written in the graph file. */
public final class OpRegistry {
  private OpRegistry() {}

  public static Op create(String kind, Map<String, Object> attributes) {
    return switch (kind) {
      case "dense" -> new Dense();
      case "matmul" -> new MatMul();
      case "add" -> new Add();
      case "mul" -> new Mul();
      case "scale" -> new Scale(((Number) require(kind, attributes, "factor")).floatValue());
      case "relu" -> new Relu();
      case "sigmoid" -> new Sigmoid();
      case "tanh" -> new Tanh();
      case "softmax" -> new Softmax();
      case "softmax_cross_entropy" -> new SoftmaxCrossEntropy();
      case "mse" -> new Mse();
      default -> throw new IllegalArgumentException("unknown node type '" + kind + "'");
    };
  }

  private static Object require(String kind, Map<String, Object> attributes, String name) {
    Object v = attributes.get(name);
    if (v == null) throw new IllegalArgumentException(kind + ": missing attribute '" + name + "'");
    return v;
  }
}
