package dev.nodal.devices;

import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.backend.opencl.OpenClOptions;
import dev.nodal.backend.opencl.SignalChaining;
import dev.nodal.tensor.CpuOptions;
import java.nio.file.Path;
import java.util.Map;
import java.util.function.UnaryOperator;

/**
 * Everything about backends that Nodal's users set from outside a program, as values: the CPU
 * backend's ({@link CpuOptions}) and OpenCL's ({@link OpenClOptions}). {@link #fromEnvironment()}
 * is the one place where the library reads them from environment variables and system properties;
 * {@link Backends} and the command line read them once and pass them down, and a program may
 * build its own instead ({@link #defaults()}, {@code with...}) and touch no environment.
 *
 * <table>
 *   <caption>What {@link #fromEnvironment()} reads</caption>
 *   <tr><th>setting</th><th>sets</th><th>when unset</th></tr>
 *   <tr><td>{@code NODAL_VECTOR=0}</td><td>{@link CpuOptions#vectorApi()} false (any other value: true)</td>
 *       <td>the Vector API where the JVM has it</td></tr>
 *   <tr><td>{@code -Dnodal.gemm.kernel=auto|4x3|6x4|8x2|6x2}</td><td>{@link CpuOptions#microkernel()}</td>
 *       <td>{@code auto}</td></tr>
 *   <tr><td>{@code NODAL_DISABLE_OPENCL=1}</td><td>{@link OpenClOptions#disabled()}</td><td>enabled</td></tr>
 *   <tr><td>{@code NODAL_GEMM}</td><td>{@link OpenClOptions#gemmTiles()}</td><td>tiles per device</td></tr>
 *   <tr><td>{@code NODAL_CACHE_DIR}</td><td>{@link OpenClOptions#tuningCache()}: {@code $NODAL_CACHE_DIR/gemm-tuning.json}</td>
 *       <td>{@code ~/.cache/nodal/gemm-tuning.json}</td></tr>
 *   <tr><td>{@code NODAL_OPENCL_UNCHAINED=1}</td><td>{@link OpenClOptions#unchained()}</td><td>chaining required on Linux</td></tr>
 *   <tr><td>{@code NODAL_OPENCL_LIBRARY}</td><td>{@link OpenClOptions#loaderLibrary()}</td><td>the usual places</td></tr>
 * </table>
 *
 * <p>(The data set's folder, {@code NODAL_DATA}, is {@code dev.nodal.data.DataOptions}'s.)
 */
public record NodalOptions(CpuOptions cpu, OpenClOptions openCl) {
  /** {@code NODAL_VECTOR}: {@code 0} runs CPU products on plain Java loops. */
  public static final String VECTOR = "NODAL_VECTOR";
  /** {@code nodal.gemm.kernel}, a system property: the Vector API product's register tile. */
  public static final String GEMM_KERNEL_PROPERTY = "nodal.gemm.kernel";
  /** {@code NODAL_GEMM}: tiles forced on every OpenCL product. */
  public static final String GEMM = "NODAL_GEMM";
  /** {@code NODAL_CACHE_DIR}: the folder of the OpenCL tuning cache. */
  public static final String CACHE_DIR = "NODAL_CACHE_DIR";
  /** {@code NODAL_DISABLE_OPENCL}: {@code 1} makes OpenCL unavailable. */
  public static final String DISABLE_OPENCL = OpenCl.DISABLE;
  /** {@code NODAL_OPENCL_UNCHAINED}: {@code 1} loads OpenCL without signal chaining. */
  public static final String OPENCL_UNCHAINED = SignalChaining.OVERRIDE;
  /** {@code NODAL_OPENCL_LIBRARY}: the OpenCL loader to use. */
  public static final String OPENCL_LIBRARY = "NODAL_OPENCL_LIBRARY";

  public NodalOptions {
    if (cpu == null || openCl == null) {
      throw new IllegalArgumentException((cpu == null ? "CPU" : "OpenCL") + " options are null");
    }
  }

  /** The defaults of both: what a program gets that sets nothing. */
  public static NodalOptions defaults() {
    return new NodalOptions(CpuOptions.defaults(), OpenClOptions.defaults());
  }

  /**
   * The options this process's environment variables and system properties set (see the class
   * comment), the defaults for the rest.
   *
   * @throws IllegalArgumentException naming the setting when {@code nodal.gemm.kernel} is none of
   *     its values
   */
  public static NodalOptions fromEnvironment() {
    return from(System::getenv, System::getProperty);
  }

  /**
   * The options that the variables {@code environment} and the properties {@code properties} set,
   * as {@link #fromEnvironment()} reads them (for tests, and programs that keep settings
   * elsewhere).
   */
  public static NodalOptions from(Map<String, String> environment, Map<String, String> properties) {
    return from(environment::get, properties::get);
  }

  private static NodalOptions from(UnaryOperator<String> env, UnaryOperator<String> properties) {
    CpuOptions cpu = CpuOptions.defaults().withVectorApi(!"0".equals(env.apply(VECTOR)));
    String kernel = properties.apply(GEMM_KERNEL_PROPERTY);
    if (kernel != null) {
      try {
        cpu = cpu.withMicrokernel(CpuOptions.Microkernel.parse(kernel));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("system property " + GEMM_KERNEL_PROPERTY + "=" + kernel
            + ": use " + CpuOptions.Microkernel.choices(), e);
      }
    }
    String cacheDir = env.apply(CACHE_DIR);
    Path cache = cacheDir == null || cacheDir.isBlank() ? OpenClOptions.defaultTuningCache()
        : OpenClOptions.tuningCacheIn(Path.of(cacheDir));
    OpenClOptions openCl = new OpenClOptions("1".equals(env.apply(DISABLE_OPENCL)), env.apply(GEMM), cache,
        "1".equals(env.apply(OPENCL_UNCHAINED)), env.apply(OPENCL_LIBRARY));
    return new NodalOptions(cpu, openCl);
  }

  public NodalOptions withCpu(CpuOptions options) {
    return new NodalOptions(options, openCl);
  }

  public NodalOptions withOpenCl(OpenClOptions options) {
    return new NodalOptions(cpu, options);
  }
}
