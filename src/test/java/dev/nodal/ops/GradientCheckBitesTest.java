package dev.nodal.ops;

import static dev.nodal.testkit.TestData.tensor;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.graph.Pass;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.Blas;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.backend.GradientCheck;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Proves the gradient check catches the classic mistakes of a dense layer's backward. */
class GradientCheckBitesTest {

  /** Dense forward, with a backward that a test breaks in one way. */
  private static final class BrokenDense implements Op {
    private final Dense real = new Dense();
    private final String fault;

    BrokenDense(String fault) {
      this.fault = fault;
    }

    public String kind() {
      return "broken_dense";
    }

    public List<String> inputRoles() {
      return real.inputRoles();
    }

    public Shape inferShape(ShapeContext c) {
      return real.inferShape(c);
    }

    public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
      real.forward(pass, in, out);
    }

    public void forwardKernels(Launcher k) {
      throw new UnsupportedOperationException("CPU only");
    }

    public void backwardKernels(Launcher k) {
      throw new UnsupportedOperationException("CPU only");
    }

    public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
      int n = in[0].dim(0), a = in[0].dim(1), b = in[1].dim(1);
      switch (fault) {
        // dX = dZ·W, reading W as if it were stored B×A: the transposed term of DESIGN.md §1.
        case "transposed-dx" -> pass.cpu().gemm(false, false, n, a, b, 1f, dOut.data, in[1].data, 1f, dIn[0].data);
        case "missing-db", "overwrite-dw" -> pass.cpu().gemm(false, true, n, a, b, 1f, dOut.data, in[1].data, 1f, dIn[0].data);
        default -> throw new IllegalArgumentException(fault);
      }
      if (fault.equals("overwrite-dw")) {
        pass.cpu().gemm(true, false, a, b, n, 1f, in[0].data, dOut.data, 0f, dIn[1].data);
      } else {
        pass.cpu().gemm(true, false, a, b, n, 1f, in[0].data, dOut.data, 1f, dIn[1].data);
      }
      if (!fault.equals("missing-db")) Blas.addColumnSums(dOut.data, n, b, dIn[2].data);
    }
  }

  private static GradientCheck.Report run(Op op, int n, int a, int b) {
    CpuTensor[] in = {tensor(1, n, a), tensor(2, a, b), tensor(3, b)};
    return GradientCheck.op(op, in, new boolean[] {true, true, true}, CpuTensor.zeros(Shape.of(n, b)), 5);
  }

  @Test
  void correctDensePasses() {
    assertTrue(run(new Dense(), 3, 4, 4).passed());
  }

  @Test
  void transposedInputGradientFails() {
    GradientCheck.Report r = run(new BrokenDense("transposed-dx"), 3, 4, 4);
    assertFalse(r.passed(), "a dense backward using W where Wᵀ belongs must fail the check");
    assertTrue(r.mismatches().stream().allMatch(m -> m.where().contains("input 0")), r.mismatches().toString());
  }

  @Test
  void transposedInputGradientFailsOnNonSquareWeights() {
    assertFalse(run(new BrokenDense("transposed-dx"), 3, 5, 2).passed());
  }

  @Test
  void missingBiasGradientFails() {
    GradientCheck.Report r = run(new BrokenDense("missing-db"), 3, 4, 2);
    assertFalse(r.passed());
    assertTrue(r.mismatches().stream().allMatch(m -> m.where().contains("input 2")), r.mismatches().toString());
  }

  @Test
  void overwritingInsteadOfAddingFails() {
    GradientCheck.Report r = run(new BrokenDense("overwrite-dw"), 3, 4, 2);
    assertFalse(r.passed(), "a backward that overwrites a partial sum must fail the check");
  }
}
