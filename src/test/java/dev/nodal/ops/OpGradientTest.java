package dev.nodal.ops;

import dev.nodal.testkit.OpSamples.Sample;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.testkit.CatalogueSamples;
import dev.nodal.backend.GradientCheck;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Finite-difference gradient check of every node type and every input, on the shapes its
 * {@link dev.nodal.testkit.OpSamples} entry lists: batch 1, size-1 features and non-square matrices among them.
 * Tolerances are those of {@link GradientCheck}.
 */
class OpGradientTest {

  static Stream<Named<Sample>> samples() {
    return CatalogueSamples.gradientSamples();
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("samples")
  void gradientCheck(Sample s) {
    CpuTensor out = CpuTensor.zeros(CatalogueSamples.outShape(s));
    GradientCheck.op(s.op(), CatalogueSamples.tensors(s), CatalogueSamples.differentiable(s), out, 17)
        .assertPassed(s.toString());
  }
}
