package dev.nodal.ops;

import static dev.nodal.testkit.TestData.labels;
import static dev.nodal.testkit.TestData.tensor;

import dev.nodal.graph.Op;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.GradientCheck;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Finite-difference gradient check of every node type and every input, at several shapes: batch
 * 1, size-1 features and non-square matrices among them. Tolerances are those of
 * {@link GradientCheck}.
 */
class OpGradientTest {

  private static void check(Op op, CpuTensor[] in, boolean[] diff, Shape outShape) {
    GradientCheck.op(op, in, diff, CpuTensor.zeros(outShape), 17).assertPassed(op.kind() + " " + outShape);
  }

  private static boolean[] all(int n) {
    boolean[] b = new boolean[n];
    java.util.Arrays.fill(b, true);
    return b;
  }

  @ParameterizedTest(name = "dense N={0} A={1} B={2}")
  @CsvSource({"1,1,1", "1,3,2", "4,5,3", "7,2,6", "3,33,5", "2,4,4"})
  void dense(int n, int a, int b) {
    check(new Dense(), new CpuTensor[] {tensor(1, n, a), tensor(2, a, b), tensor(3, b)}, all(3), Shape.of(n, b));
  }

  @ParameterizedTest(name = "matmul M={0} K={1} N={2}")
  @CsvSource({"1,1,1", "1,3,2", "4,5,3", "6,2,7", "2,33,3"})
  void matmul(int m, int k, int n) {
    check(new MatMul(), new CpuTensor[] {tensor(1, m, k), tensor(2, k, n)}, all(2), Shape.of(m, n));
  }

  @ParameterizedTest(name = "add {0}x{1}")
  @CsvSource({"1,1", "1,5", "4,3", "9,2"})
  void addSameShape(int r, int c) {
    check(new Add(), new CpuTensor[] {tensor(1, r, c), tensor(2, r, c)}, all(2), Shape.of(r, c));
  }

  @ParameterizedTest(name = "add broadcast {0}x{1} + {1}")
  @CsvSource({"1,1", "1,5", "4,3", "9,2"})
  void addBroadcast(int r, int c) {
    check(new Add(), new CpuTensor[] {tensor(1, r, c), tensor(2, c)}, all(2), Shape.of(r, c));
  }

  @ParameterizedTest(name = "mul {0}x{1}")
  @CsvSource({"1,1", "3,4", "8,1"})
  void mul(int r, int c) {
    check(new Mul(), new CpuTensor[] {tensor(1, r, c), tensor(2, r, c)}, all(2), Shape.of(r, c));
  }

  @ParameterizedTest(name = "scale {0}x{1}")
  @CsvSource({"1,1", "3,4"})
  void scale(int r, int c) {
    check(new Scale(-2.5f), new CpuTensor[] {tensor(1, r, c)}, all(1), Shape.of(r, c));
  }

  @ParameterizedTest(name = "{0} {1}x{2}")
  @CsvSource({"relu,1,1", "relu,5,7", "sigmoid,1,1", "sigmoid,5,7", "tanh,1,1", "tanh,5,7", "softmax,1,1",
      "softmax,1,6", "softmax,5,7"})
  void unary(String kind, int r, int c) {
    Op op = switch (kind) {
      case "relu" -> new Relu();
      case "sigmoid" -> new Sigmoid();
      case "tanh" -> new Tanh();
      default -> new Softmax();
    };
    check(op, new CpuTensor[] {tensor(1, r, c)}, all(1), Shape.of(r, c));
  }

  @ParameterizedTest(name = "softmax_cross_entropy N={0} C={1}")
  @CsvSource({"1,1", "1,4", "5,3", "16,10"})
  void softmaxCrossEntropy(int n, int c) {
    CpuTensor logits = tensor(1, n, c);
    for (int i = 0; i < logits.size(); i++) logits.data[i] *= 3f;
    check(new SoftmaxCrossEntropy(), new CpuTensor[] {logits, labels(2, n, c)}, new boolean[] {true, false}, Shape.scalar());
  }

  @ParameterizedTest(name = "mse {0}x{1}")
  @CsvSource({"1,1", "4,3", "10,1"})
  void mse(int r, int c) {
    check(new Mse(), new CpuTensor[] {tensor(1, r, c), tensor(2, r, c)}, all(2), Shape.scalar());
  }
}
