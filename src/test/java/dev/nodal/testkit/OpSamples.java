package dev.nodal.testkit;

import dev.nodal.graph.Op;
import dev.nodal.ops.Add;
import dev.nodal.ops.Attention;
import dev.nodal.ops.BatchNorm;
import dev.nodal.ops.Concat;
import dev.nodal.ops.Conv2d;
import dev.nodal.ops.Dense;
import dev.nodal.ops.Div;
import dev.nodal.ops.Dropout;
import dev.nodal.ops.Embedding;
import dev.nodal.ops.Gelu;
import dev.nodal.ops.GlobalAvgPool2d;
import dev.nodal.ops.LayerNorm;
import dev.nodal.ops.LeakyRelu;
import dev.nodal.ops.LogSoftmax;
import dev.nodal.ops.MatMul;
import dev.nodal.ops.Mean;
import dev.nodal.ops.Mse;
import dev.nodal.ops.Mul;
import dev.nodal.ops.Nll;
import dev.nodal.ops.Permute;
import dev.nodal.ops.Pool2d;
import dev.nodal.ops.RMSNorm;
import dev.nodal.ops.Relu;
import dev.nodal.ops.Reshape;
import dev.nodal.ops.Scale;
import dev.nodal.ops.Sigmoid;
import dev.nodal.ops.Slice;
import dev.nodal.ops.Softmax;
import dev.nodal.ops.Sub;
import dev.nodal.ops.SoftmaxCrossEntropy;
import dev.nodal.ops.Sum;
import dev.nodal.ops.Tanh;
import dev.nodal.tensor.FusedActivation;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;

/**
 * The samples every node type of {@link dev.nodal.ops.OpCatalogue} is checked on: the input
 * shapes of its gradient checks (batch 1 included) and of its CPU↔device parity runs (every size
 * of {@link #STRADDLE} in some dimension), and its parity tolerance family. {@code OpCatalogueTest}
 * holds the two lists to name the same node types.
 */
public final class OpSamples {
  private OpSamples() {}

  /** Sizes that straddle work-group and tile sizes; parity samples use each in some dimension. */
  public static final int[] STRADDLE = {1, 31, 32, 33, 63, 64, 65, 257};

  /**
   * How closely a device must match the CPU: elementwise ops to float rounding, ops that sum
   * many products to a tolerance that grows with the sum. Parity takes the length of the sum from
   * {@link Op#reductionLength}; an entry is {@code REDUCTION} exactly when some sample of it sums
   * more than one product (a test holds the two to agree).
   */
  public enum Family { ELEMENTWISE, REDUCTION }

  /**
   * The inputs of one check. Without labels ({@code classes == 0}), input i is a tensor of
   * {@code shapes[i]} (a parameter in a graph) and every input gets a gradient. With labels, the
   * last input holds class indices below {@code classes} of the last shape (its first dimension
   * the batch) and gets no gradient; the other inputs carry that batch as their first dimension. With {@code spread}, the
   * op picks among its inputs (a maximum), so test values must lie further apart than a finite
   * difference's step, or the pick would change under it. The last {@code states} inputs (before
   * the labels, if any) are {@link dev.nodal.graph.State}s: positive values, no gradient. With
   * {@code lookup}, the labels index the other inputs, which are parameters without a batch
   * (an embedding's table).
   */
  public record Sample(Op op, int classes, List<int[]> shapes, boolean spread, int states, boolean lookup) {
    public Sample(Op op, int classes, List<int[]> shapes) {
      this(op, classes, shapes, false, 0, false);
    }

    public Sample(Op op, int classes, List<int[]> shapes, boolean spread) {
      this(op, classes, shapes, spread, 0, false);
    }

    /** The batch: the labels' count for a lookup, else the first dimension of input 0. */
    public int batch() {
      return lookup ? shapes.get(shapes.size() - 1)[0] : shapes.get(0)[0];
    }

    /** True when input {@code i} is a state. */
    public boolean isState(int i) {
      int end = shapes.size() - (classes > 0 ? 1 : 0);
      return i >= end - states && i < end;
    }

    @Override
    public String toString() {
      StringBuilder sb = new StringBuilder(op.kind());
      for (int[] s : shapes) sb.append(' ').append(Arrays.toString(s).replace(", ", "x"));
      // A textual attribute picks a form of the kernels (conv2d's algorithm): name it, unless it is the default.
      op.attributes().values().stream().filter(v -> v instanceof String && !"auto".equals(v))
          .forEach(v -> sb.append(" [").append(v).append(']'));
      return sb.toString();
    }
  }

  /** The samples of one node type. */
  public record Samples(String kind, Family family, List<Sample> gradientSamples, List<Sample> paritySamples) {}

  private static final Map<String, Samples> BY_KIND = byKind(List.of(
      samples("dense", Family.REDUCTION,
          concat(products(new Dense(), true, new int[][] {{1, 1, 1}, {1, 3, 2}, {4, 5, 3}, {7, 2, 6}, {3, 33, 5}, {2, 4, 4}}),
              fusedDense(new int[][] {{1, 1, 1}, {4, 5, 3}, {3, 33, 5}}),
              List.of(dense(new Dense(), new int[] {2, 3, 4}, 5), dense(new Dense(FusedActivation.TANH), new int[] {3, 2, 2, 6}, 3))),
          concat(products(new Dense(), true, straddlingProducts()),
              products(new Dense(FusedActivation.RELU), true, straddlingProducts()),
              fusedDense(new int[][] {{31, 33, 64}, {65, 17, 63}}),
              List.of(dense(new Dense(), new int[] {3, 17, 33}, 65), dense(new Dense(FusedActivation.SIGMOID), new int[] {2, 3, 5, 31}, 17)))),
      samples("matmul", Family.REDUCTION,
          concat(products(new MatMul(), false, new int[][] {{1, 1, 1}, {1, 3, 2}, {4, 5, 3}, {6, 2, 7}, {2, 33, 3}}),
              batchedProducts()),
          concat(products(new MatMul(), false, straddlingProducts()), batchedStraddling())),
      broadcasting(new Add()),
      broadcasting(new Sub()),
      broadcasting(new Mul()),
      broadcasting(new Div()),
      unary("scale", new Scale(-2.5f)),
      unary(FusedActivation.RELU.attribute(), new Relu()),
      unary("leaky_relu", new LeakyRelu(0.2f)),
      unary(FusedActivation.SIGMOID.attribute(), new Sigmoid()),
      unary(FusedActivation.TANH.attribute(), new Tanh()),
      unary("gelu", new Gelu()),
      samples("softmax", Family.REDUCTION,
          List.of(params(new Softmax(), 1, 1), params(new Softmax(), 1, 6), params(new Softmax(), 5, 7),
              params(new Softmax(), 6), params(new Softmax(), 1, 3, 5), params(new Softmax(), 1, 2, 3, 4),
              params(new Softmax(true), 1, 4, 4), params(new Softmax(true), 1, 2, 3, 5), params(new Softmax(true), 2, 3)),
          concat(rowsAndCols(s -> params(new Softmax(), s[0], s[1])), lastAxis(new Softmax()), causalStraddling())),
      samples("softmax_cross_entropy", Family.REDUCTION,
          List.of(labelled(new SoftmaxCrossEntropy(), 1, 1), labelled(new SoftmaxCrossEntropy(), 1, 4),
              labelled(new SoftmaxCrossEntropy(), 5, 3), labelled(new SoftmaxCrossEntropy(), 16, 10),
              labelled(new SoftmaxCrossEntropy(), 1, 3, 4), labelled(new SoftmaxCrossEntropy(), 2, 3, 5),
              labelled(new SoftmaxCrossEntropy(), 2, 2, 3, 4)),
          concat(rowsAndCols(s -> labelled(new SoftmaxCrossEntropy(), s[0], s[1])),
              sequences(new SoftmaxCrossEntropy()))),
      samples("attention", Family.REDUCTION,
          List.of(attention(new Attention(false), new int[] {1, 3, 4}, 5, 3),
              attention(new Attention(true), new int[] {1, 4, 3}, 4, 2),
              attention(new Attention(true), new int[] {2, 2, 3, 5}, 4, 3),
              attention(new Attention(false, 0.7f, 0f, 0), new int[] {2, 2, 4, 3}, 2, 1),
              attention(new Attention(true, 0f, 0.3f, 5), new int[] {2, 3, 3}, 5, 4),
              attention(new Attention(true), new int[] {1, 19, 3}, 21, 2)),
          attentionStraddling()),
      samples("log_softmax", Family.REDUCTION,
          List.of(params(new LogSoftmax(), 1, 1), params(new LogSoftmax(), 1, 6), params(new LogSoftmax(), 5, 7),
              params(new LogSoftmax(), 6), params(new LogSoftmax(), 1, 3, 5), params(new LogSoftmax(), 1, 2, 3, 4)),
          concat(rowsAndCols(s -> params(new LogSoftmax(), s[0], s[1])), lastAxis(new LogSoftmax()))),
      samples("nll", Family.REDUCTION,
          List.of(labelled(new Nll(), 1, 1), labelled(new Nll(), 1, 4), labelled(new Nll(), 5, 3),
              labelled(new Nll(), 16, 10), labelled(new Nll(), 1, 3, 4), labelled(new Nll(), 2, 3, 5)),
          concat(rowsAndCols(s -> labelled(new Nll(), s[0], s[1])), sequences(new Nll()))),
      samples("concat", Family.ELEMENTWISE,
          List.of(concat(new int[] {1, 1}, new int[] {1, 2}), concat(new int[] {3, 2}, new int[] {3, 4}, new int[] {3, 1}),
              concat(new int[] {2, 3, 4}, new int[] {2, 1, 4}),
              concatAlong(0, new int[] {1, 3, 2}, new int[] {2, 3, 2}),
              concatAlong(-1, new int[] {1, 2, 3}, new int[] {1, 2, 1}, new int[] {1, 2, 2}),
              concatAlong(2, new int[] {2, 1, 2, 3}, new int[] {2, 1, 1, 3})),
          concatStraddling()),
      samples("slice", Family.ELEMENTWISE,
          List.of(params(new Slice(1, 1, 3), 1, 4), params(new Slice(-1, -3, -1), 2, 3, 5),
              params(Slice.from(0, 1), 3, 2), params(new Slice(2, 0, 2), 1, 2, 3, 4),
              params(new Slice(-2, 1, 100), 2, 3, 4, 2)),
          sizes(s -> List.of(params(new Slice(1, s / 2, s), 3, s, 2), params(Slice.from(0, -s), s + 1, 3),
              params(new Slice(-1, 0, -1), 2, 3, s + 1)))),
      samples("sum", Family.REDUCTION,
          reductions(Sum::new),
          sizes(s -> reductionsStraddling(Sum::new, s))),
      samples("mean", Family.REDUCTION,
          reductions(Mean::new),
          sizes(s -> reductionsStraddling(Mean::new, s))),
      samples("conv2d", Family.REDUCTION,
          List.of(conv(Conv2d.builder().build(), 1, 1, 3, 3, 1, 2, 2),
              conv(Conv2d.builder().padding(1).build(), 2, 3, 5, 4, 4, 3, 3),
              conv(Conv2d.builder().groups(2).stride(2).padding(1).build(), 1, 4, 6, 6, 4, 3, 3),
              conv(Conv2d.builder().dilation(2).bias(false).build(), 2, 2, 7, 5, 3, 2, 3),
              conv(Conv2d.builder().stride(2, 1).padding(0, 2).build(), 1, 2, 5, 3, 2, 3, 2),
              conv(Conv2d.builder().padding(1).activation(FusedActivation.RELU).build(), 2, 3, 5, 4, 4, 3, 3),
              conv(Conv2d.builder().groups(2).bias(false).activation(FusedActivation.TANH).build(), 1, 4, 5, 4, 4, 3, 3),
              conv(Conv2d.builder().activation(FusedActivation.SIGMOID).build(), 2, 2, 4, 4, 3, 2, 2)),
          convStraddling()),
      samples("max_pool2d", Family.ELEMENTWISE,
          poolSamples(true),
          poolStraddling(true)),
      samples("avg_pool2d", Family.REDUCTION,
          poolSamples(false),
          poolStraddling(false)),
      samples("batch_norm", Family.REDUCTION,
          List.of(batchNorm(1, 1, 2, 2), batchNorm(2, 3, 3, 1), batchNorm(4, 5), batchNorm(1, 2, 3),
              batchNorm(FusedActivation.RELU, 3, 2, 2, 2), batchNorm(FusedActivation.TANH, 4, 5),
              batchNorm(FusedActivation.SIGMOID, 1, 2, 3)),
          batchNormStraddling()),
      samples("layer_norm", Family.REDUCTION,
          rowNormSamples(new LayerNorm(), new LayerNorm(1e-5f, false)),
          rowNormStraddling(new LayerNorm(), new LayerNorm(1e-3f, false))),
      samples("rms_norm", Family.REDUCTION,
          rowNormSamples(new RMSNorm(), new RMSNorm(1e-6f, false)),
          rowNormStraddling(new RMSNorm(), new RMSNorm(1e-5f, false))),
      unary("dropout", new Dropout(0.3f, 7)),
      samples("global_avg_pool2d", Family.REDUCTION,
          List.of(params(new GlobalAvgPool2d(), 1, 1, 1, 1), params(new GlobalAvgPool2d(), 2, 3, 4, 5),
              params(new GlobalAvgPool2d(), 1, 2, 7, 3)),
          sizes(s -> List.of(params(new GlobalAvgPool2d(), 2, 3, s, 5), params(new GlobalAvgPool2d(), 1, s, 3, 3)))),
      samples("reshape", Family.ELEMENTWISE,
          List.of(params(Reshape.flatten(), 1, 1), params(Reshape.flatten(), 2, 3, 4, 5), params(new Reshape(6, 2), 3, 4, 3),
              params(new Reshape(3, 2, 2), 2, 3, 4), params(new Reshape(3, 4), 1, 3, 2, 2)),
          sizes(s -> List.of(params(Reshape.flatten(), s, 3, 2), params(new Reshape(s, 2), 2, 2 * s)))),
      samples("permute", Family.ELEMENTWISE,
          List.of(params(new Permute(0, 2, 1), 1, 3, 4), params(new Permute(2, 0, 1), 2, 3, 4),
              params(Permute.transpose(4, 1, 2), 1, 2, 3, 4), params(new Permute(3, 1, 0, 2), 2, 3, 1, 4),
              params(new Permute(0, 1), 2, 3), params(Permute.transpose(2, 0, -1), 3, 5),
              params(new Permute(0, 2, 1, 3), 1, 3, 1, 4), params(new Permute(0, 5, 3, 1, 4, 2), 1, 2, 3, 1, 2, 2)),
          sizes(s -> List.of(params(new Permute(0, 2, 1), 2, s, 3), params(new Permute(2, 0, 1), s, 3, 2),
              params(Permute.transpose(4, 1, 2), 1, 2, s, 3), params(new Permute(3, 1, 0, 2), 2, 3, 2, s),
              params(new Permute(0, 1, 2), s, 2, 3)))),
      samples("embedding", Family.REDUCTION,
          List.of(embedding(1, 1, 1), embedding(5, 3, 9), embedding(9, 4, 4), embedding(6, 3, 1, 4),
              embedding(5, 2, 3, 4), embedding(4, 3, 2, 2, 3)),
          sizes(s -> List.of(embedding(s, 3, 2 * s), embedding(7, s, 12), embedding(5, 4, s), embedding(9, 4, 2, s)))),
      samples("mse", Family.REDUCTION,
          binary(new Mse(), 1, 1, 4, 3, 10, 1),
          binaryStraddling(new Mse()))));

  /** The samples of every node type, in the catalogue's order. */
  public static List<Samples> all() {
    return List.copyOf(BY_KIND.values());
  }

  /** The samples of node type {@code kind}; an error names it when there are none. */
  public static Samples of(String kind) {
    Samples s = BY_KIND.get(kind);
    if (s == null) throw new IllegalArgumentException("no samples for node type '" + kind + "'");
    return s;
  }

  private static Map<String, Samples> byKind(List<Samples> all) {
    Map<String, Samples> out = new LinkedHashMap<>();
    for (Samples s : all) {
      if (out.put(s.kind(), s) != null) throw new IllegalStateException("samples listed twice for " + s.kind());
    }
    return out;
  }

  private static Samples samples(String kind, Family family, List<Sample> gradient, List<Sample> parity) {
    return new Samples(kind, family, gradient, parity);
  }

  /**
   * An elementwise op of one input, on rows × 3 for every straddling row count and on sequences
   * {@code [N, T, C]}.
   */
  private static Samples unary(String kind, Op sample) {
    List<Sample> parity = new ArrayList<>();
    for (int s : STRADDLE) parity.add(params(sample, s, 3));
    parity.add(params(sample, 2, 33, 5));
    return new Samples(kind, Family.ELEMENTWISE,
        List.of(params(sample, 1, 1), params(sample, 5, 7), params(sample, 1, 3, 4), params(sample, 2, 3, 4)), parity);
  }

  private static Sample params(Op op, int... shape) {
    return new Sample(op, 0, List.<int[]>of(shape));
  }

  /** Two inputs of one shape, rows × cols for each pair given. */
  private static List<Sample> binary(Op op, int... rowsCols) {
    List<Sample> out = new ArrayList<>();
    for (int i = 0; i < rowsCols.length; i += 2) {
      int[] s = {rowsCols[i], rowsCols[i + 1]};
      out.add(new Sample(op, 0, List.of(s, s)));
    }
    return out;
  }

  private static List<Sample> binaryStraddling(Op op) {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) out.addAll(binary(op, s, 3));
    return out;
  }

  /**
   * An elementwise op of two broadcasting inputs: equal shapes, a bias of the last dimension, a
   * scalar, both inputs repeated along different dimensions ({@code [2,1,4]} with {@code [3,1]}) and
   * in rank 4 on several axes; for parity, each straddling size in those forms.
   */
  private static Samples broadcasting(Op op) {
    List<Sample> gradient = List.of(pair(op, new int[] {1, 1}, new int[] {1, 1}), pair(op, new int[] {4, 3}, new int[] {4, 3}),
        pair(op, new int[] {1, 5}, new int[] {5}), pair(op, new int[] {9, 2}, new int[] {2}),
        pair(op, new int[] {3, 2}, new int[] {}), pair(op, new int[] {1}, new int[] {2, 3}),
        pair(op, new int[] {2, 3, 4}, new int[] {4}), pair(op, new int[] {1, 3, 4}, new int[] {3, 4}),
        pair(op, new int[] {2, 1, 4}, new int[] {3, 1}), pair(op, new int[] {3, 1}, new int[] {2, 1, 4}),
        pair(op, new int[] {1, 3, 1, 4}, new int[] {2, 1}), pair(op, new int[] {2, 3, 1, 5}, new int[] {3, 4, 1}),
        pair(op, new int[] {2, 1, 3, 1}, new int[] {1, 4, 1, 2}));
    List<Sample> parity = new ArrayList<>();
    for (int s : STRADDLE) {
      parity.add(pair(op, new int[] {s, 3}, new int[] {s, 3}));
      parity.add(pair(op, new int[] {3, s}, new int[] {s}));
      parity.add(pair(op, new int[] {2, 1, s}, new int[] {3, 1}));
      parity.add(pair(op, new int[] {s, 1, 3}, new int[] {1, 2, 1}));
      parity.add(pair(op, new int[] {2, s, 1, 2}, new int[] {3, 1}));
    }
    return new Samples(op.kind(), Family.REDUCTION, gradient, parity);
  }

  private static Sample pair(Op op, int[] a, int[] b) {
    return new Sample(op, 0, List.of(a, b));
  }

  /** M×K times K×N (plus a bias of N for dense), for each {M, K, N}. */
  private static List<Sample> products(Op op, boolean bias, int[][] mkn) {
    List<Sample> out = new ArrayList<>();
    for (int[] d : mkn) {
      List<int[]> shapes = new ArrayList<>(List.of(new int[] {d[0], d[1]}, new int[] {d[1], d[2]}));
      if (bias) shapes.add(new int[] {d[2]});
      out.add(new Sample(op, 0, List.copyOf(shapes)));
    }
    return out;
  }

  /** A dense layer on every vector of the last dimension of {@code x}, onto {@code units}. */
  private static Sample dense(Dense op, int[] x, int units) {
    return new Sample(op, 0, List.of(x, new int[] {x[x.length - 1], units}, new int[] {units}));
  }

  /** Dense with each fused activation, for each {M, K, N}. */
  private static List<Sample> fusedDense(int[][] mkn) {
    List<Sample> out = new ArrayList<>();
    for (FusedActivation f : FusedActivation.values()) {
      if (f != FusedActivation.NONE) out.addAll(products(new Dense(f), true, mkn));
    }
    return out;
  }

  /** Each straddling size as M, as K and as N, beside sizes that are not tile multiples. */
  private static int[][] straddlingProducts() {
    List<int[]> out = new ArrayList<>();
    for (int s : STRADDLE) {
      out.add(new int[] {s, 33, 65});
      out.add(new int[] {31, s, 64});
      out.add(new int[] {63, 257, s});
    }
    return out.toArray(new int[0][]);
  }

  /**
   * A matmul of {@code op(a) [...batchA, m, k]} by {@code op(b) [...batchB, k, n]}, each operand
   * stored transposed in its last two dimensions where asked.
   */
  private static Sample matmul(boolean transA, boolean transB, int[] batchA, int[] batchB, int m, int k, int n) {
    return new Sample(new MatMul(transA, transB), 0,
        List.of(matrices(batchA, transA ? k : m, transA ? m : k), matrices(batchB, transB ? n : k, transB ? k : n)));
  }

  private static int[] matrices(int[] batch, int rows, int cols) {
    int[] shape = Arrays.copyOf(batch, batch.length + 2);
    shape[batch.length] = rows;
    shape[batch.length + 1] = cols;
    return shape;
  }

  /**
   * Batched matmuls for the gradient check: batch 1, rank 3 and 4, batch dimensions broadcast
   * (a shared weight, a shared left operand, both broadcast at once), and each transpose pair.
   */
  private static List<Sample> batchedProducts() {
    int[] none = {};
    List<Sample> out = new ArrayList<>(List.of(
        matmul(false, false, new int[] {1}, new int[] {1}, 3, 4, 2),
        matmul(false, false, new int[] {2, 3}, new int[] {2, 3}, 2, 4, 3),
        matmul(false, false, new int[] {2, 3}, none, 4, 5, 6),
        matmul(false, false, none, new int[] {2}, 3, 4, 5),
        matmul(false, false, new int[] {2, 1}, new int[] {3}, 3, 4, 2),
        matmul(false, false, new int[] {1, 3}, new int[] {2, 1}, 2, 3, 2)));
    for (boolean transA : new boolean[] {false, true}) {
      for (boolean transB : new boolean[] {false, true}) {
        out.add(matmul(transA, transB, none, none, 3, 4, 2));
        out.add(matmul(transA, transB, new int[] {2}, new int[] {2}, 3, 4, 5));
        out.add(matmul(transA, transB, new int[] {2, 3}, none, 2, 3, 4));
        out.add(matmul(transA, transB, none, new int[] {2}, 3, 2, 4));
      }
    }
    return out;
  }

  /**
   * Batched matmuls with each straddling size as M, as K and as N, each transpose pair among
   * them, with and without broadcast operands.
   */
  private static List<Sample> batchedStraddling() {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) {
      out.add(matmul(false, false, new int[] {3}, new int[] {3}, s, 33, 17));
      out.add(matmul(true, false, new int[] {2, 2}, new int[] {2, 2}, 17, s, 31));
      out.add(matmul(false, true, new int[] {2}, new int[] {}, 31, 9, s));
      out.add(matmul(true, true, new int[] {}, new int[] {3}, s, 20, 7));
    }
    out.add(matmul(false, false, new int[] {2, 1}, new int[] {3}, 33, 65, 31));
    return out;
  }

  /** Each straddling size as the rows (with 10 columns) and as the columns (with 7 rows). */
  private static List<Sample> rowsAndCols(Function<int[], Sample> sample) {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) {
      out.add(sample.apply(new int[] {s, 10}));
      out.add(sample.apply(new int[] {7, s}));
    }
    return out;
  }

  /** Each straddling size as the last axis of a rank-4 input and as the rows of a rank-3 one. */
  private static List<Sample> lastAxis(Op op) {
    return sizes(s -> List.of(params(op, 1, 3, 2, s), params(op, 1, s, 5)));
  }

  /** Causal softmax of each straddling size as Tq = Tk (rank 3) and as Tk beside a smaller Tq (rank 4). */
  private static List<Sample> causalStraddling() {
    return sizes(s -> List.of(params(new Softmax(true), 1, s, s), params(new Softmax(true), 1, 2, Math.min(s, 5), s + 2)));
  }

  /** Attention of q {@code [..., Tq, D]} over k {@code [..., tk, D]} and v {@code [..., tk, dv]}. */
  private static Sample attention(Attention op, int[] q, int tk, int dv) {
    int[] k = q.clone(), v = q.clone();
    k[k.length - 2] = tk;
    v[v.length - 2] = tk;
    v[v.length - 1] = dv;
    return new Sample(op, 0, List.of(q, k, v));
  }

  /**
   * Each straddling size as Tq = Tk (causal, rank 3), as Tk beside a few queries (rank 4), as Tq
   * beside more keys (causal), as D and Dv, and with dropout.
   */
  private static List<Sample> attentionStraddling() {
    return sizes(s -> List.of(attention(new Attention(true), new int[] {1, s, 7}, s, 5),
        attention(new Attention(false), new int[] {1, 2, 3, 7}, s, 6),
        attention(new Attention(true), new int[] {2, s, 3}, s + 3, 2),
        attention(new Attention(false), new int[] {1, 5, s}, 6, s),
        attention(new Attention(true, 0f, 0.25f, 3), new int[] {1, s, 6}, s, 4)));
  }

  /** A convolution of x [n, c, h, w] by a window of k filters of r × s (and a bias when the op has one). */
  private static Sample conv(Conv2d op, int n, int c, int h, int w, int k, int r, int s) {
    int groups = (int) op.attributes().get("groups");
    List<int[]> shapes = new ArrayList<>(List.of(new int[] {n, c, h, w}, new int[] {k, c / groups, r, s}));
    if (op.inputRoles().size() == 3) shapes.add(new int[] {k});
    return new Sample(op, 0, List.copyOf(shapes));
  }

  /**
   * Each straddling size as the image height, as the input channels and as the filters; and the
   * shape samples in each OpenCL form, the im2col form also in chunks of one and of two images
   * (an uneven last chunk, partial weight gradients summed).
   */
  private static List<Sample> convStraddling() {
    List<Sample> out = new ArrayList<>();
    for (Conv2d.Algorithm form : List.of(Conv2d.Algorithm.DIRECT, Conv2d.Algorithm.IM2COL)) {
      out.add(conv(Conv2d.builder().algorithm(form).build(), 1, 1, 3, 3, 1, 2, 2));
      out.add(conv(Conv2d.builder().padding(1).algorithm(form).build(), 2, 3, 5, 4, 4, 3, 3));
      out.add(conv(Conv2d.builder().groups(2).stride(2).padding(1).algorithm(form).build(), 1, 4, 6, 6, 4, 3, 3));
      out.add(conv(Conv2d.builder().dilation(2).bias(false).algorithm(form).build(), 2, 2, 7, 5, 3, 2, 3));
      out.add(conv(Conv2d.builder().stride(2, 1).padding(0, 2).algorithm(form).build(), 1, 2, 5, 3, 2, 3, 2));
      for (FusedActivation f : List.of(FusedActivation.RELU, FusedActivation.SIGMOID, FusedActivation.TANH)) {
        out.add(conv(Conv2d.builder().padding(1).algorithm(form).activation(f).build(), 2, 3, 5, 4, 4, 3, 3));
      }
      out.add(conv(Conv2d.builder().groups(2).bias(false).activation(FusedActivation.RELU).algorithm(form).build(),
          2, 4, 6, 5, 4, 3, 3));
    }
    out.add(conv(Conv2d.builder().padding(1).groups(2).algorithm(Conv2d.Algorithm.IM2COL).patchFloats(2 * 18 * 30)
        .activation(FusedActivation.RELU).build(), 5, 4, 5, 6, 6, 3, 3));
    Conv2d.Builder chunked = Conv2d.builder().padding(1).groups(2).algorithm(Conv2d.Algorithm.IM2COL);
    out.add(conv(chunked.patchFloats(1).build(), 3, 4, 5, 6, 6, 3, 3));
    out.add(conv(chunked.patchFloats(2 * 18 * 30).build(), 5, 4, 5, 6, 6, 3, 3));
    Conv2d padded = Conv2d.builder().padding(1).build();
    for (int size : STRADDLE) {
      out.add(conv(padded, 2, 3, size, 5, 4, 3, 3));
      out.add(conv(padded, 1, size, 4, 4, 2, 3, 3));
      out.add(conv(Conv2d.builder().stride(2).build(), 1, 2, 6, 6, size, 2, 2));
    }
    return out;
  }

  private static Pool2d pool(boolean max, int kernel, int stride, int pad) {
    return max ? Pool2d.max(kernel, stride, pad) : Pool2d.avg(kernel, stride, pad);
  }

  /** Windows of 2 (stride 2), 3 (stride 2, padding 1) and 3 (stride 1), on small odd images. */
  private static List<Sample> poolSamples(boolean max) {
    return List.of(poolSample(max, 2, 2, 0, 1, 1, 2, 2), poolSample(max, 2, 2, 0, 2, 3, 5, 4),
        poolSample(max, 3, 2, 1, 1, 2, 7, 6), poolSample(max, 3, 1, 0, 2, 1, 4, 5));
  }

  private static Sample poolSample(boolean max, int kernel, int stride, int pad, int... shape) {
    return new Sample(pool(max, kernel, stride, pad), 0, List.<int[]>of(shape), max);
  }

  /** Each straddling size as the image height (and, below 70, width), window 2 and window 3. */
  private static List<Sample> poolStraddling(boolean max) {
    List<Sample> out = new ArrayList<>();
    for (int size : STRADDLE) {
      int h = Math.max(size, 3);
      out.add(params(pool(max, 2, 2, 0), 2, 3, h, Math.min(h, 70)));
      out.add(params(pool(max, 3, 2, 1), 1, size, 6, 5));
    }
    return out;
  }

  /** The samples {@code make} gives for each straddling size. */
  private static List<Sample> sizes(Function<Integer, List<Sample>> make) {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) out.addAll(make.apply(s));
    return out;
  }

  /**
   * A table of {@code rows} × {@code width} looked up by indices below {@code rows} of the given
   * shape (labels, drawn with repeats).
   */
  private static Sample embedding(int rows, int width, int... indices) {
    return new Sample(new Embedding(), rows, List.of(new int[] {rows, width}, indices), false, 0, true);
  }

  /** Batch norm of x of the given shape, over its dimension 1. */
  private static Sample batchNorm(int... x) {
    return batchNorm(FusedActivation.NONE, x);
  }

  /**
   * The same with an activation applied as it writes z. Every input of a channel moves all of its
   * outputs, so one output within a finite-difference step of ReLU's kink fails the check for the
   * whole channel: the ReLU sample's shape is one whose outputs keep clear of it ([2, 3, 3, 1] and
   * [4, 2, 1, 2] do not).
   */
  private static Sample batchNorm(FusedActivation f, int... x) {
    int[] c = {x[1]};
    return new Sample(BatchNorm.builder().momentum(0.2f).activation(f).build(), 0, List.of(x, c, c, c, c), false, 2,
        false);
  }

  /** Each straddling size as the examples, as the channels and as the image height. */
  private static List<Sample> batchNormStraddling() {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) {
      out.add(batchNorm(s, 3, 2, 2));
      out.add(batchNorm(2, s));
      out.add(batchNorm(1, 2, s, 5));
      out.add(batchNorm(FusedActivation.RELU, 2, 3, s));
    }
    return out;
  }

  /** A layer or RMS norm of x of the given shape, with the weight (and bias) its roles ask for. */
  private static Sample rowNorm(Op op, int... x) {
    List<int[]> shapes = new ArrayList<>(List.of(x));
    for (int i = 1; i < op.inputRoles().size(); i++) shapes.add(new int[] {x[x.length - 1]});
    return new Sample(op, 0, List.copyOf(shapes));
  }

  /** Ranks 1 to 4, batch 1 (of rank 2 and 3), width 1, with and without the affine parameters. */
  private static List<Sample> rowNormSamples(Op affine, Op plain) {
    return List.of(rowNorm(affine, 1, 5), rowNorm(affine, 1, 3, 4), rowNorm(affine, 4, 1), rowNorm(affine, 7),
        rowNorm(affine, 3, 6), rowNorm(affine, 2, 3, 4), rowNorm(affine, 2, 2, 3, 4), rowNorm(plain, 1, 5),
        rowNorm(plain, 2, 3, 4), rowNorm(plain, 3, 1));
  }

  /** Each straddling size as the width and as the rows, affine or not, and a rank-4 input. */
  private static List<Sample> rowNormStraddling(Op affine, Op plain) {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) {
      out.add(rowNorm(affine, 3, s));
      out.add(rowNorm(affine, s, 5));
      out.add(rowNorm(plain, 2, s));
    }
    out.add(rowNorm(affine, 2, 3, 4, 33));
    return out;
  }

  /** A concatenation of parameters of the given shapes. */
  private static Sample concat(int[]... shapes) {
    return new Sample(new Concat(shapes.length), 0, List.of(shapes));
  }

  /** Each straddling size as the rows and as the channels, and 3-D inputs with a rest of 5. */
  private static List<Sample> concatStraddling() {
    List<Sample> out = new ArrayList<>();
    for (int s : STRADDLE) {
      out.add(concat(new int[] {s, 3}, new int[] {s, 5}));
      out.add(concat(new int[] {2, s}, new int[] {2, 3}, new int[] {2, 1}));
      out.add(concat(new int[] {3, s, 5}, new int[] {3, 2, 5}));
    }
    return out;
  }

  /** A concatenation along {@code axis} of parameters of the given shapes. */
  private static Sample concatAlong(int axis, int[]... shapes) {
    return new Sample(Concat.along(axis), 0, List.of(shapes));
  }

  /** Makes a sum or a mean: {@code keepDims} and the axes. */
  private interface Reduction {
    Op make(boolean keepDims, int... axes);
  }

  /** Reductions over one and several axes, negative ones, with and without kept dims, of rank 2 to 4. */
  private static List<Sample> reductions(Reduction r) {
    return List.of(params(r.make(false, 1), 1, 5), params(r.make(true, 0, 2), 2, 3, 4), params(r.make(false, -1), 1, 3, 4),
        params(r.make(false, 1, 3), 2, 3, 2, 4), params(r.make(true, -3, -1), 2, 2, 3, 2),
        params(r.make(false, 0, 1, 2), 2, 3, 2), params(r.make(true, 0), 1, 4));
  }

  /**
   * Size {@code s} summed over as the last axis, as the first, between kept axes, and kept between
   * summed ones.
   */
  private static List<Sample> reductionsStraddling(Reduction r, int s) {
    return List.of(params(r.make(false, -1), 3, s), params(r.make(true, 0), s, 5), params(r.make(false, 1), 2, s, 3),
        params(r.make(true, 0, 2), 2, s, 3));
  }

  /** A loss of scores {@code [n, ..., c]} (the last dimension the classes) against labels {@code [n, ...]}. */
  private static Sample labelled(Op op, int... scores) {
    return new Sample(op, scores[scores.length - 1], List.of(scores, Arrays.copyOf(scores, scores.length - 1)));
  }

  /** A loss over sequences: each straddling size as the positions (batch 2, 7 classes) and as the classes. */
  private static List<Sample> sequences(Op op) {
    return sizes(s -> List.of(labelled(op, 2, s, 7), labelled(op, 3, 2, s)));
  }

  @SafeVarargs
  private static List<Sample> concat(List<Sample>... lists) {
    List<Sample> out = new ArrayList<>();
    for (List<Sample> l : lists) out.addAll(l);
    return out;
  }

}
