package dev.nodal.backend.opencl;

import static org.jocl.CL.*;

import dev.nodal.backend.BackendBase;
import dev.nodal.backend.CompileOptions;
import dev.nodal.backend.SessionBase;
import dev.nodal.graph.Graph;
import dev.nodal.plan.DeviceTraits;
import java.util.Locale;
import org.jocl.cl_command_queue;
import org.jocl.cl_context;
import org.jocl.cl_context_properties;
import org.jocl.cl_device_id;

/**
 * One OpenCL device: its context, one in-order command queue and the program cache. Sessions
 * compiled here share the queue; closing the backend closes them first. Its products' tiles follow
 * its own {@link OpenClOptions}, so two backends of one JVM (even of one device) may tile them
 * differently.
 */
public final class OpenClBackend extends BackendBase {
  final DeviceInfo device;
  final cl_context context;
  final cl_command_queue queue;
  final ProgramCache programs;
  private final DeviceTraits traits;
  private final GemmDevice gemm;
  /** How this device runs a plan's launches. */
  final Lowering lowering;
  /** Every failing driver call of this device's sessions goes through here. */
  final DriverCalls calls;
  /** Device buffers (and sub-buffers) allocated and not yet released, by every session here. */
  final java.util.concurrent.atomic.AtomicLong liveBuffers = new java.util.concurrent.atomic.AtomicLong();

  private final OpenClOptions options;

  /** The device with {@link OpenClOptions#defaults()}: tiles of its own and of the default tuning cache. */
  public OpenClBackend(DeviceInfo device) {
    this(device, OpenClOptions.defaults());
  }

  /** The device with its products tiled as {@code options} say (override, tuning cache). */
  public OpenClBackend(DeviceInfo device, OpenClOptions options) {
    this(device, options, null);
  }

  /** A backend of the default options whose driver calls fail as {@code faults} says (for tests of error handling). */
  OpenClBackend(DeviceInfo device, DriverCalls.Faults faults) {
    this(device, OpenClOptions.defaults(), faults);
  }

  // clCreateCommandQueue is deprecated since OpenCL 2.0 but is the call that OpenCL 1.2 devices
  // (NVIDIA's among them) and newer ones all accept.
  @SuppressWarnings("deprecation")
  private OpenClBackend(DeviceInfo device, OpenClOptions options, DriverCalls.Faults faults) {
    if (options == null) throw new IllegalArgumentException("OpenCL options are null (OpenClOptions.defaults() for the defaults)");
    this.device = device;
    this.options = options;
    this.calls = new DriverCalls(device.toString(), faults);
    cl_context_properties props = new cl_context_properties();
    props.addProperty(CL_CONTEXT_PLATFORM, device.platform());
    this.context = clCreateContext(props, 1, new cl_device_id[] {device.device()}, null, null, null);
    this.queue = clCreateCommandQueue(context, device.device(), 0, null);
    this.programs = new ProgramCache(context, device, calls);
    this.traits = traits(device);
    this.gemm = gemm(device, options.gemmTiles(), options.tuningCache());
    this.lowering = new Lowering(device.maxWorkGroupSize(), gemm, KernelSources::source);
  }

  public DeviceInfo device() {
    return device;
  }

  /** The options this backend was opened with. */
  public OpenClOptions options() {
    return options;
  }

  /** What plans for this device need to know: its work-group limit and alignment. */
  @Override
  public DeviceTraits traits() {
    return traits;
  }

  /**
   * What choosing the products' tiles needs: the device's limits, the tile override
   * ({@link OpenClOptions#gemmTiles()}) and the tiles that {@code nodal tune} measured
   * ({@link OpenClOptions#tuningCache()}), read once, at construction; whatever of them is malformed or
   * does not fit the device is left out with a warning ({@link GemmTuner#override},
   * {@link GemmTuner#load}).
   */
  public GemmDevice gemm() {
    return gemm;
  }

  /** Refuses a buffer the device cannot allocate, naming it and the option that sizes it. */
  void checkAllocation(String name, long bytes) {
    if (bytes > device.maxAllocation()) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "buffer '%s' needs %,d bytes, more than the %,d bytes that %s "
          + "allocates at most (CL_DEVICE_MAX_MEM_ALLOC_SIZE); compile for a smaller batch (maxBatch, --batch-size)",
          name, bytes, device.maxAllocation(), name()));
    }
  }

  /** Refuses a plan whose memory exceeds the device's global memory. */
  void checkTotal(long bytes) {
    if (bytes > device.globalMemory()) {
      throw new IllegalArgumentException(String.format(Locale.ROOT, "the compiled graph needs %,d bytes of device memory, more than "
          + "the %,d bytes of %s; compile for a smaller batch (maxBatch, --batch-size)", bytes, device.globalMemory(),
          name()));
    }
  }

  /** The plan's traits of {@code device}. */
  static DeviceTraits traits(DeviceInfo device) {
    int align = Math.max(4, Integer.highestOneBit(Math.max(1, device.baseAddressAlignBits() / 8)));
    return new DeviceTraits(device.name(), device.maxWorkGroupSize(), device.computeUnits(), device.localMemory(), align);
  }

  /** The gemm choices of {@code device} with the override {@code gemmOverride} and the tuning cache {@code cache}. */
  static GemmDevice gemm(DeviceInfo device, String gemmOverride, java.nio.file.Path cache) {
    return GemmDevice.of(device).withOverride(GemmTuner.override(gemmOverride, device))
        .withTuned(GemmTuner.load(cache, device));
  }

  @Override
  public String name() {
    return device.id() + " " + device.name();
  }

  @Override
  protected SessionBase newSession(Graph graph, CompileOptions options) {
    return new OpenClSession(this, graph, options);
  }

  /**
   * Builds one file of {@code kernels/} with its default defines, from the cache when it was built
   * before (native-check builds every file this way).
   *
   * @throws KernelBuildException with the device's full build log
   */
  public void build(String kernelFile) {
    programs.get(kernelFile, "");
  }

  /** Device buffers of this backend's sessions that are allocated now (for leak checks). */
  public long liveBuffers() {
    return liveBuffers.get();
  }

  /** Program builds so far on this backend (each distinct source and options once). */
  public long programBuilds() {
    return programs.builds();
  }

  @Override
  protected void release() {
    programs.close();
    clReleaseCommandQueue(queue);
    clReleaseContext(context);
  }
}
