package dev.nodal.backend.opencl;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.Backend;
import dev.nodal.backend.Parity;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Input;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Launcher.Matrix;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.testkit.OpenClTests;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * {@link Launcher#gemm(int, int, int, int, int, float, Matrix, Matrix, float, Matrix)} on
 * {@code gemm.cl} against a plain loop over the same layout: offsets, leading dimensions wider
 * than the rows, transposed operands, batch strides (0 included: every member reads the same
 * matrix) and sums over groups of the batch, even and uneven, at sizes that straddle the tiles.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class GemmLayoutTest {
  private Backend device;
  private final Backend cpu = Backends.cpu();

  @BeforeAll
  void open() {
    device = OpenClTests.backend();
  }

  @AfterAll
  void close() {
    if (device != null) device.close();
  }

  /**
   * One layout: {@code batch} members, {@code sum} of them per output; A at offset offA with
   * leading dimension (its row length + padA) and batch stride bA, likewise B; C dense.
   */
  record Layout(int batch, int sum, int m, int n, int k, boolean transA, boolean transB, int offA, int padA, boolean sharedA,
      int offB, int padB) {
    int ldA() {
      return (transA ? m : k) + padA;
    }

    int ldB() {
      return (transB ? k : n) + padB;
    }

    int rowsA() {
      return transA ? k : m;
    }

    int rowsB() {
      return transB ? n : k;
    }

    int strideA() {
      return sharedA ? 0 : rowsA() * ldA() + 3;
    }

    int strideB() {
      return rowsB() * ldB() + 1;
    }

    int lengthA() {
      return offA + (batch - 1) * strideA() + rowsA() * ldA();
    }

    int lengthB() {
      return offB + (batch - 1) * strideB() + rowsB() * ldB();
    }

    int outputs() {
      return (batch + sum - 1) / sum;
    }

    float a(float[] data, int e, int i, int p) {
      return data[offA + e * strideA() + (transA ? p * ldA() + i : i * ldA() + p)];
    }

    float b(float[] data, int e, int p, int j) {
      return data[offB + e * strideB() + (transB ? j * ldB() + p : p * ldB() + j)];
    }
  }

  /** The products of a layout as an op: inputs are the flat A and B buffers, the output the Cs. */
  private record Product(Layout l) implements Op {
    @Override
    public String kind() {
      return "strided_gemm";
    }

    @Override
    public List<String> inputRoles() {
      return List.of("a", "b");
    }

    @Override
    public Shape inferShape(ShapeContext c) {
      return Shape.of(c.in(0).dim(0), l.outputs() * l.m * l.n);
    }

    @Override
    public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
      for (int z = 0; z < l.outputs(); z++) {
        for (int i = 0; i < l.m; i++) {
          for (int j = 0; j < l.n; j++) {
            double s = 0;
            for (int e = z * l.sum; e < Math.min(l.batch, (z + 1) * l.sum); e++) {
              for (int p = 0; p < l.k; p++) s += (double) l.a(in[0].data, e, i, p) * l.b(in[1].data, e, p, j);
            }
            out.data[(z * l.m + i) * l.n + j] = (float) s;
          }
        }
      }
    }

    @Override
    public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
      throw new UnsupportedOperationException("forward only");
    }

    @Override
    public void forwardKernels(Launcher k) {
      Matrix a = Matrix.of(k.in(0), l.ldA()).plus(l.offA).everyBatch(l.strideA());
      Matrix b = Matrix.of(k.in(1), l.ldB()).plus(l.offB).everyBatch(l.strideB());
      k.gemm(l.batch, l.sum, l.m, l.n, l.k, 1f, l.transA ? a.t() : a, l.transB ? b.t() : b, 0f,
          Matrix.of(k.out(), l.n).everyBatch(l.m * l.n));
    }

    @Override
    public void backwardKernels(Launcher k) {
      throw new UnsupportedOperationException("forward only");
    }

    @Override
    public int reductionLength(Shape[] in) {
      return l.k * l.sum;
    }
  }

  static Stream<Named<Layout>> layouts() {
    return Stream.of(
        new Layout(1, 1, 7, 5, 3, false, false, 0, 0, false, 0, 0),
        new Layout(3, 1, 33, 31, 17, false, false, 5, 2, false, 1, 3),
        new Layout(3, 1, 33, 31, 17, true, false, 0, 1, false, 2, 0),
        new Layout(4, 1, 65, 9, 64, false, true, 3, 0, true, 0, 5),
        new Layout(2, 1, 1, 130, 9, true, true, 1, 4, false, 7, 1),
        new Layout(5, 5, 9, 31, 49, false, true, 0, 3, false, 2, 2),
        new Layout(7, 3, 16, 33, 20, false, true, 4, 0, false, 0, 1),
        new Layout(8, 2, 129, 65, 7, true, false, 0, 0, true, 3, 0))
        .map(l -> Named.of(l.toString(), l));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("layouts")
  void matchesTheLoop(Layout l) {
    GraphBuilder g = new GraphBuilder(1);
    Input a = g.input("a", l.lengthA()), b = g.input("b", l.lengthB());
    g.apply(new Product(l), "c", a, b);
    Graph graph = g.build();
    Random random = new Random(l.hashCode());
    float[] da = new float[l.lengthA()], db = new float[l.lengthB()];
    for (int i = 0; i < da.length; i++) da[i] = (float) random.nextGaussian();
    for (int i = 0; i < db.length; i++) db[i] = (float) random.nextGaussian();
    Parity.Report r = Parity.compare(graph, device, cpu, Map.of("a", da, "b", db));
    assertTrue(r.ok(), l + "\n" + r.format());
  }
}
