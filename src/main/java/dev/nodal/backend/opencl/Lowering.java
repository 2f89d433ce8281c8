package dev.nodal.backend.opencl;

import dev.nodal.graph.Kernel;
import dev.nodal.plan.Launch;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Turns a plan's launches into OpenCL ones: a kernel program {@code p} is the file
 * {@code kernels/p.cl} (on the class path, so an op of one's own brings its own); launches get
 * work-groups of {@link #GROUP_1D} work-items along dimension 0 unless the op chose a size;
 * reductions in groups get power-of-two groups of up to {@link #GROUP_REDUCTION} and their
 * {@code __local} scratch; products get {@code gemm.cl} with the tiles {@link GemmConfig#choose}
 * picks. Each kernel's declared parameters are checked against its source on first use, so an op
 * whose declaration and {@code .cl} file disagree is an error that names both.
 */
final class Lowering {
  /** Work-items per work-group of one-dimensional launches. */
  static final int GROUP_1D = 64;
  /** The largest work-group of reductions in groups. */
  static final int GROUP_REDUCTION = 256;

  private final long maxWorkGroupSize;
  private final GemmDevice gemm;
  private final Function<String, String> sources;
  private final Map<String, Map<String, List<Kernel.Type>>> signatures = new ConcurrentHashMap<>();

  /** {@code sources} gives a file's complete source ({@link KernelSources#source}). */
  Lowering(long maxWorkGroupSize, GemmDevice gemm, Function<String, String> sources) {
    this.maxWorkGroupSize = maxWorkGroupSize;
    this.gemm = gemm;
    this.sources = sources;
  }

  /** The file of a kernel program. */
  static String file(String program) {
    return program + ".cl";
  }

  List<ClLaunch> lower(List<Launch> launches) {
    List<ClLaunch> out = new ArrayList<>(launches.size());
    for (Launch l : launches) out.add(lower(l));
    return out;
  }

  ClLaunch lower(Launch launch) {
    if (launch instanceof Launch.Grid g) {
      String file = checked(g.node(), g.kernel());
      int[] counts = g.counts(), group = g.group();
      long[] local = new long[counts.length], global = new long[counts.length];
      for (int d = 0; d < counts.length; d++) {
        local[d] = group != null ? group[d] : d == 0 ? Math.min(GROUP_1D, maxWorkGroupSize) : 1;
        global[d] = (Math.max(1, counts[d]) + local[d] - 1) / local[d] * local[d];
      }
      return new ClLaunch(g.node(), file, "", g.kernel().function(), new ArrayList<>(g.args()), global, local);
    }
    if (launch instanceof Launch.Rows r) {
      String file = checked(r.node(), r.kernel());
      int group = Integer.highestOneBit((int) Math.max(1, Math.min(GROUP_REDUCTION, maxWorkGroupSize)));
      List<Object> args = new ArrayList<>(r.args());
      args.add(new ClLaunch.Local(4L * group));
      return new ClLaunch(r.node(), file, "", r.kernel().function(), args, new long[] {(long) group * r.groups()},
          new long[] {group});
    }
    Launch.Product p = (Launch.Product) launch;
    GemmConfig tiles = GemmConfig.choose(gemm, p.m(), p.n(), p.innerLength(), p.outputs());
    Launch.Operand a = p.a(), b = p.b(), c = p.c();
    List<Object> args = new ArrayList<>();
    for (Object v : new Object[] {p.m(), p.n(), p.k(), p.batch(), p.sum(), p.alpha(),
        a.buffer(), a.offset(), a.transposed() ? 1 : a.ld(), a.transposed() ? a.ld() : 1, a.batchStride(),
        b.buffer(), b.offset(), b.transposed() ? 1 : b.ld(), b.transposed() ? b.ld() : 1, b.batchStride(),
        p.beta(), c.buffer(), c.offset(), c.ld(), c.batchStride(),
        p.bias(), p.biasOffset(), p.biasMode(), p.activation().code()}) {
      args.add(v instanceof Integer i ? new Launch.I32(i) : v instanceof Float f ? new Launch.F32(f) : v);
    }
    return new ClLaunch(p.node(), "gemm.cl", tiles.defines(), "gemm", args, tiles.globalSize(p.m(), p.n(), p.outputs()),
        tiles.localSize());
  }

  /** The kernel's file, after checking the kernel's declared parameters against its source. */
  private String checked(String node, Kernel kernel) {
    String file = file(kernel.program());
    String why = KernelSignatures.mismatch(kernel, file,
        signatures.computeIfAbsent(file, f -> KernelSignatures.of(sources.apply(f))));
    if (why != null) throw new IllegalArgumentException("node '" + node + "': " + why);
    return file;
  }
}
