package dev.nodal.ops;

import dev.nodal.testkit.OpSamples.Sample;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuOptions;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.testkit.CatalogueSamples;
import dev.nodal.backend.GradientCheck;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.provider.Arguments;
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

  /** The node types whose CPU code runs on the GEMM. */
  private static final Set<String> PRODUCTS = Set.of("dense", "matmul", "conv2d", "attention");

  /** Each sample of those node types on each micro-kernel, forced, whatever this CPU would choose. */
  static Stream<Arguments> productSamples() {
    return samples().filter(s -> PRODUCTS.contains(s.getPayload().op().kind()))
        .flatMap(s -> Stream.of(CpuOptions.Microkernel.values()).map(tile -> Arguments.of(tile, s)));
  }

  @ParameterizedTest(name = "{0}: {1}")
  @MethodSource("productSamples")
  void gradientCheckOnEachMicrokernel(CpuOptions.Microkernel tile, Sample s) {
    CpuContext cpu = new CpuContext(CpuOptions.defaults().withMicrokernel(tile));
    CpuTensor out = CpuTensor.zeros(CatalogueSamples.outShape(s));
    GradientCheck.op(cpu, s.op(), CatalogueSamples.tensors(s), CatalogueSamples.differentiable(s), out, 17)
        .assertPassed(tile.text() + " tiles, " + s);
  }
}
