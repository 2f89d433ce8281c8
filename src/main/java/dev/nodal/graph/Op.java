package dev.nodal.graph;

import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import java.util.List;
import java.util.Map;

/**
 * A stateless function node type: {@code z = f(x1 … xn)}.
 *
 * <p>Set-up follows a fixed sequence when a graph is built: the builder checks the arity against
 * {@link #inputRoles()} (and {@link #isVariadic()}), then calls {@link #inferShape} once. At run time a backend calls the
 * op's own code: {@link #forward}/{@link #backward} on the CPU, and the kernels named by the op on
 * an OpenCL device. Backends never dispatch on the op's class.
 *
 * <p>Backward contract: given the inputs, the output and {@code dL/dz}, the op <em>adds</em>
 * {@code dL/dxi} into every {@code dIn[i]} that is not null. A null entry means that input needs
 * no gradient. Adding (never overwriting a partial sum) is what sums gradients at fan-out and
 * weight sharing; on a device the first writer of a gradient in a pass overwrites instead, as
 * {@link Launcher#accumulate} tells its kernel, which spares zeroing it.
 */
public interface Op {

  /** Node type name used in messages and files, for example {@code "dense"}. */
  String kind();

  /**
   * One short name per input, in order, for example {@code ["x", "W", "b"]}. For a
   * {@link #isVariadic() variadic} op, the roles of its fewest inputs, the last of which the further
   * inputs repeat.
   */
  List<String> inputRoles();

  /**
   * True when the op takes any number of inputs from {@code inputRoles().size()} up (concat's
   * {@code ["x"]}: one or more), the inputs past the last role playing that role again; its code
   * then reads how many it got from {@link ShapeContext#inputCount()},
   * {@link Launcher#inputCount()} or the length of its input arrays. False by default: exactly
   * {@link #inputRoles()}.
   */
  default boolean isVariadic() {
    return false;
  }

  /**
   * The role of input {@code i}, for messages: {@code inputRoles().get(i)}, and for a variadic op's
   * inputs from its last role on, that role numbered ({@code x0}, {@code x1}, ... for concat).
   */
  default String inputRole(int i) {
    List<String> roles = inputRoles();
    int last = roles.size() - 1;
    return !isVariadic() || i < last ? roles.get(i) : roles.get(last) + i;
  }

  /** Hyper-parameters, for display and for the graph file; empty when the op has none. */
  default Map<String, Object> attributes() {
    return Map.of();
  }

  /**
   * Checks the input shapes and returns the output shape; a batch dimension stays
   * {@link Shape#BATCH}. Errors come from {@link ShapeContext#error} so that they name the node
   * and its inputs.
   */
  Shape inferShape(ShapeContext c);

  /**
   * Computes {@code out} from {@code in}; every tensor has its batch dimension resolved. An op
   * whose node consumes a {@link State} updates it here, in training mode only.
   */
  void forward(Pass pass, CpuTensor[] in, CpuTensor out);

  /**
   * Adds {@code dL/d in[i]} into {@code dIn[i]} for every non-null {@code dIn[i]}. It runs after a
   * forward in training mode on the same inputs, whose workspace it may read.
   */
  void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn);

  /**
   * Tensors the op needs beside its inputs and output, for the input shapes given (a batch
   * dimension stays {@link Shape#BATCH}): statistics that forward saves for backward, or scratch.
   * The step plan allocates them with a lifetime from the node's forward to its backward, and
   * hands them over as {@link Pass#work} on the CPU and {@link Launcher#work} on a device. None
   * by default.
   */
  default List<Shape> workspace(Shape[] in) {
    return List.of();
  }

  /**
   * Device buffers that the op's kernels use within one pass and not after it (im2col's patch
   * matrices), for the input shapes given with the batch dimension at the largest batch that the
   * plan serves, for the forward pass or the {@code backward} one. The step plan gives each pass
   * its set, alive for that pass only, so that the scratch of different nodes shares memory;
   * kernels reach them through {@link Launcher#scratch}, by their index in the pass's list. The
   * CPU backend allocates none: CPU code keeps its own scratch. None by default.
   */
  default List<Shape> scratch(Shape[] in, boolean backward) {
    return List.of();
  }

  /**
   * Describes the forward kernels: {@code out} from the inputs. An op without kernels (by default)
   * runs on the CPU backend only; compiling it for a device is an error that names the node.
   */
  default void forwardKernels(Launcher k) {
    throw new UnsupportedOperationException(noKernels());
  }

  /**
   * Describes the backward kernels, which write every non-null {@code k.dIn(i)}: overwriting or
   * adding as {@link Launcher#accumulate} says.
   */
  default void backwardKernels(Launcher k) {
    throw new UnsupportedOperationException(noKernels());
  }

  private String noKernels() {
    return "op '" + kind() + "' (" + getClass().getName() + ") has no kernels, so it runs on the CPU backend only; "
        + "give it forwardKernels and backwardKernels to run on a device";
  }

  /**
   * True when the op's CPU backward honours {@link Pass#overwrites}: where that is true, it sets
   * every element of that input's gradient instead of adding to it, and the CPU backend does not
   * zero the gradient first (as {@link Launcher#accumulate} spares a device the zeroing). False by
   * default: each gradient arrives zeroed, or holding the sums of other paths, and the op adds.
   */
  default boolean overwritesGradients() {
    return false;
  }

  /**
   * True when the output is input 0's values in the same order, only regrouped (reshape): the
   * step plan then lets the output share the input's memory, and the gradient too when the input
   * feeds nothing else. The op's code must then do nothing where {@code out} is its input's
   * buffer ({@code in[0].data == out.data} on the CPU, {@code in(0).equals(out())} on a device),
   * and likewise for the gradients.
   */
  default boolean isView() {
    return false;
  }

  /**
   * True when the op computes differently in training and in evaluation mode (batch norm,
   * dropout): parity and fixture tests then check both modes.
   */
  default boolean dependsOnMode() {
    return false;
  }

  /**
   * How many products one output element sums (1 for elementwise ops). Parity tolerances grow
   * with it: see {@code dev.nodal.backend.Parity}.
   */
  default int reductionLength(Shape[] inputShapes) {
    return 1;
  }
}
