package dev.nodal.backend.opencl;

import static org.jocl.CL.CL_MEM_COPY_HOST_PTR;
import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clFinish;
import static org.jocl.CL.clReleaseMemObject;

import dev.nodal.backend.Session;
import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.GraphBuilder;
import dev.nodal.graph.Init;
import dev.nodal.ops.MatMul;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.blast.CLBlast;
import org.jocl.blast.CLBlastLayout;
import org.jocl.blast.CLBlastTranspose;
import org.jocl.cl_mem;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Nodal's {@code gemm.cl} against CLBlast 1.5.2 (through {@code org.jocl:jocl-blast}, which
 * bundles {@code libclblast} for Linux x86-64), N×N×N row-major, on the same OpenCL device and the
 * same in-order queue, each product timed to its {@code clFinish}. The device is
 * {@code $NODAL_BENCH_DEVICE} (default {@code opencl}, the first OpenCL device). Run it with
 * {@code bench/jmh OpenClGemmBenchmark}; it is not part of the test run, and CLBlast is a
 * test-scope dependency only.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class OpenClGemmBenchmark {

  @Param({"256", "1024"})
  public int n;

  @Param({"nodal", "clblast"})
  public String impl;

  private OpenClBackend backend;
  private Session session;
  private cl_mem a, b, c;

  @Setup
  public void setUp() {
    String selector = System.getenv().getOrDefault("NODAL_BENCH_DEVICE", "opencl");
    if (!(Backends.open(selector) instanceof OpenClBackend cl)) {
      throw new IllegalStateException("NODAL_BENCH_DEVICE=" + selector + " is not an OpenCL device");
    }
    backend = cl;
    if (impl.equals("nodal")) {
      GraphBuilder g = new GraphBuilder(1);
      dev.nodal.graph.Param x = g.param("a", Init.uniform(-1, 1), n, n), y = g.param("b", Init.uniform(-1, 1), n, n);
      g.apply(new MatMul(), "c", x, y);
      Graph graph = g.build();
      session = backend.compile(graph, 1);
      return;
    }
    CLBlast.setExceptionsEnabled(true);
    a = buffer(1);
    b = buffer(2);
    c = buffer(3);
  }

  private cl_mem buffer(long seed) {
    float[] values = new float[n * n];
    Random r = new Random(seed);
    for (int i = 0; i < values.length; i++) values[i] = r.nextFloat() * 2 - 1;
    return clCreateBuffer(backend.context, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, (long) Sizeof.cl_float * values.length,
        Pointer.to(values), null);
  }

  @Benchmark
  public void gemm() {
    if (session != null) {
      session.forward();
      session.sync();
      return;
    }
    CLBlast.CLBlastSgemm(CLBlastLayout.CLBlastLayoutRowMajor, CLBlastTranspose.CLBlastTransposeNo,
        CLBlastTranspose.CLBlastTransposeNo, n, n, n, 1f, a, 0, n, b, 0, n, 0f, c, 0, n, backend.queue, null);
    clFinish(backend.queue);
  }

  @TearDown
  public void tearDown() {
    if (session != null) session.close();
    for (cl_mem m : new cl_mem[] {a, b, c}) if (m != null) clReleaseMemObject(m);
    backend.close();
  }
}
