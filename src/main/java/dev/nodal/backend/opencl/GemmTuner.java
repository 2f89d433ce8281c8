package dev.nodal.backend.opencl;

import static org.jocl.CL.CL_MEM_READ_WRITE;
import static org.jocl.CL.clCreateBuffer;
import static org.jocl.CL.clCreateKernel;
import static org.jocl.CL.clEnqueueNDRangeKernel;
import static org.jocl.CL.clFinish;
import static org.jocl.CL.clReleaseKernel;
import static org.jocl.CL.clReleaseMemObject;
import static org.jocl.CL.clSetKernelArg;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.jocl.CLException;
import org.jocl.Pointer;
import org.jocl.Sizeof;
import org.jocl.cl_kernel;
import org.jocl.cl_mem;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Measures {@code gemm.cl}'s tilings on a device, per shape class, and keeps the fastest in a
 * cache on disk ({@link OpenClOptions#tuningCache()}) that {@link OpenClBackend} reads when it
 * opens the device: {@code nodal tune}
 * fills it ahead of training. The cache is keyed by device, driver version and the kernel's
 * source, so a new driver or a changed kernel is measured anew, never served stale tiles.
 */
public final class GemmTuner {
  private static final ObjectMapper JSON = new ObjectMapper();
  private static final Logger log = LoggerFactory.getLogger(GemmTuner.class);

  private GemmTuner() {}

  /** The distinct products, by shape class, of one training step of {@code graph} at {@code batch}. */
  public static List<Shape> products(dev.nodal.graph.Graph graph, int batch, dev.nodal.plan.DeviceTraits device) {
    dev.nodal.plan.Planner planner = new dev.nodal.plan.Planner(graph, batch,
        new dev.nodal.plan.Keep(false, java.util.Set.of()), device);
    var steps = planner.steps(batch, true);
    Map<String, Shape> out = new LinkedHashMap<>();
    List<dev.nodal.plan.Launch> all = new java.util.ArrayList<>(steps.forward());
    all.addAll(steps.backward());
    for (dev.nodal.plan.Launch l : all) {
      if (!(l instanceof dev.nodal.plan.Launch.Product p)) continue;
      Shape s = new Shape(p.m(), p.n(), p.innerLength(), p.outputs());
      out.putIfAbsent(s.shapeClass(), s);
    }
    return List.copyOf(out.values());
  }

  /** One product to tune: M×N over K, {@code batches} outputs per launch. */
  public record Shape(int m, int n, int k, int batches) {
    public String shapeClass() {
      return GemmConfig.shapeClass(m, n, k, batches);
    }
  }

  /** What tuning measured for one shape: the default tiles' time and the best found. */
  public record Result(Shape shape, GemmConfig defaults, double defaultMs, GemmConfig best, double bestMs, int tried) {}

  /** The cache's key for a device: its name, its driver's version and gemm.cl's source. */
  static String deviceKey(DeviceInfo device) {
    return device.name() + " | driver " + device.driverVersion() + " | gemm.cl " + KernelSources.hash("gemm.cl");
  }

  /**
   * The tiles of {@code $NODAL_GEMM} ({@code text}, {@link OpenClOptions#gemmTiles()}) for
   * {@code device}, or null when it is unset,
   * or (with one warning that names NODAL_GEMM, its value and what is wrong) when it is malformed
   * or does not fit the device: the device then chooses its own tiles.
   */
  public static GemmConfig override(String text, DeviceInfo device) {
    if (text == null || text.isBlank()) return null;
    Tiles t = tiles(text, device);
    if (t.problem() == null) return t.config();
    String problem = t.problem();
    log.warn("NODAL_GEMM='{}' ignored: {}; {} chooses its own tiles. Fix: set NODAL_GEMM to "
        + "tileM,tileN,tileK,wptM,wptN[,vec,doubleBuffer] within the device's limits, or unset it", text, problem, device);
    return null;
  }

  /** Tiles as written, parsed and checked against a device: the config, or what is wrong with it. */
  private record Tiles(GemmConfig config, String problem) {}

  private static Tiles tiles(String text, DeviceInfo device) {
    try {
      GemmConfig c = GemmConfig.parse(text);
      String misfit = c.misfit(device.maxWorkGroupSize(), device.localMemory());
      return new Tiles(misfit == null ? c : null, misfit);
    } catch (IllegalArgumentException e) {
      return new Tiles(null, e.getMessage());
    }
  }

  /**
   * A tuning cache as read for one device: the file's JSON object (empty when there is no file
   * or it cannot be used) less the device's entries that cannot be used, those entries' tiles,
   * and a sentence for each thing left out.
   */
  public static final class Cache {
    /** The file's tree, kept to write it back with one device's entries replaced. */
    final ObjectNode root;
    private final Map<String, GemmConfig> tuned;
    private final List<String> problems;

    Cache(ObjectNode root, Map<String, GemmConfig> tuned, List<String> problems) {
      this.root = root;
      this.tuned = Map.copyOf(tuned);
      this.problems = List.copyOf(problems);
    }

    /** The tiles tuned for this device, by shape class. */
    public Map<String, GemmConfig> tuned() {
      return tuned;
    }

    /** What could not be used, each naming the file and the entry. */
    public List<String> problems() {
      return problems;
    }
  }

  /**
   * Reads {@code file} for {@code device}, never throwing for what the file holds: a file that is
   * not JSON, is truncated, or holds something other than an object of devices is left out as a
   * whole; the device's entry when it is not an object of shape classes; each of its entries whose
   * shape class or tiles are malformed, or whose tiles do not fit the device. Each problem names
   * the file and the entry.
   */
  public static Cache read(Path file, DeviceInfo device) {
    ObjectNode empty = JSON.createObjectNode();
    if (file == null || !Files.exists(file)) return new Cache(empty, Map.of(), List.of());
    String at = "gemm tuning cache " + file;
    if (!Files.isRegularFile(file)) return new Cache(empty, Map.of(), List.of(at + " is not a regular file"));
    JsonNode tree;
    try {
      tree = JSON.readTree(file.toFile());
    } catch (JsonProcessingException e) {
      var where = e.getLocation();
      return new Cache(empty, Map.of(), List.of(at + " is not valid JSON (" + e.getOriginalMessage()
          + (where == null ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr()) + ")"));
    } catch (IOException e) {
      return new Cache(empty, Map.of(), List.of(at + " cannot be read (" + e.getMessage() + ")"));
    }
    if (tree == null || tree.isMissingNode()) return new Cache(empty, Map.of(), List.of(at + " is empty"));
    if (!tree.isObject()) {
      return new Cache(empty, Map.of(), List.of(at + " holds " + kind(tree) + ", not an object of devices"));
    }
    ObjectNode root = (ObjectNode) tree;
    String key = deviceKey(device);
    JsonNode entry = root.get(key);
    if (entry == null) return new Cache(root, Map.of(), List.of());
    if (!entry.isObject()) {
      root.remove(key);
      return new Cache(root, Map.of(), List.of(at + ": the entry of \"" + key + "\" holds " + kind(entry)
          + ", not an object of shape classes"));
    }
    Map<String, GemmConfig> tuned = new LinkedHashMap<>();
    List<String> problems = new ArrayList<>();
    List<String> unusable = new ArrayList<>();
    for (var it = entry.fields(); it.hasNext(); ) {
      var e = it.next();
      String entryName = at + ": entry \"" + e.getKey() + "\"" + (e.getValue().isTextual() ? " = \"" + e.getValue().asText()
          + "\"" : "") + " for " + device, problem = null;
      if (!isShapeClass(e.getKey())) {
        problem = " is not a shape class (MxNxKxB, each a power of two)";
      } else if (!e.getValue().isTextual()) {
        problem = " holds " + kind(e.getValue()) + ", not tiles written as \"tileM,tileN,tileK,wptM,wptN[,vec,doubleBuffer]\"";
      } else {
        Tiles t = tiles(e.getValue().asText(), device);
        problem = t.problem();
        if (problem == null) tuned.put(e.getKey(), t.config());
        if (problem != null) problem = ": " + problem;
      }
      if (problem != null) {
        problems.add(entryName + problem);
        unusable.add(e.getKey());
      }
    }
    ((ObjectNode) entry).remove(unusable);
    return new Cache(root, tuned, problems);
  }

  /** True for what {@link GemmConfig#shapeClass} writes: four powers of two joined by x. */
  private static boolean isShapeClass(String key) {
    String[] parts = key.split("x", -1);
    if (parts.length != 4) return false;
    for (String p : parts) {
      if (!p.matches("\\d{1,10}")) return false;
      long v = Long.parseLong(p);
      if (v < 1 || v > 1L << 30 || Long.bitCount(v) != 1) return false;
    }
    return true;
  }

  private static String kind(JsonNode n) {
    return n.isArray() ? "an array" : n.isTextual() ? "a string" : n.isNumber() ? "a number" : n.isBoolean() ? "a boolean"
        : n.isNull() ? "null" : n.isObject() ? "an object" : n.getNodeType().toString().toLowerCase();
  }

  /**
   * The tuned tiles for {@code device} in {@code file}: those of {@link #read}, with one warning
   * per thing left out, naming the file and the entry.
   */
  public static Map<String, GemmConfig> load(Path file, DeviceInfo device) {
    Cache cache = read(file, device);
    for (String problem : cache.problems()) {
      log.warn("{}; ignored: {} uses untuned tiles instead. Fix: run nodal tune, which replaces what it cannot use",
          problem, device);
    }
    return cache.tuned();
  }

  /**
   * The cache file's new contents: {@code cache} (as {@link #read} gave it, less what could not
   * be used), with {@code results} added to the device's entry. The caller writes them, whole, in
   * place of the file.
   */
  public static byte[] withResults(Cache cache, DeviceInfo device, List<Result> results) throws IOException {
    ObjectNode root = cache.root.deepCopy();
    JsonNode existing = root.get(deviceKey(device));
    ObjectNode entry = existing instanceof ObjectNode o ? o : root.putObject(deviceKey(device));
    for (Result r : results) entry.put(r.shape().shapeClass(), r.best().text());
    return JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root);
  }

  /** How many of the fastest tilings tuning tries again with wider loads and double buffering. */
  public static final int REFINED = 3;

  /**
   * Times every configuration of {@code candidates} that builds and launches on the device on
   * each shape (the fastest of {@code repeats} runs after one warm-up), beside the tiles the
   * device gets without tuning; then the {@link #REFINED} fastest again in their
   * {@link GemmConfig#variants} (vector loads, double buffering).
   */
  public static List<Result> tune(OpenClBackend backend, List<Shape> shapes, List<GemmConfig> candidates, int repeats) {
    List<Result> out = new ArrayList<>();
    for (Shape s : shapes) {
      GemmConfig defaults = GemmConfig.choose(backend.gemm().withTuned(Map.of()), s.m(), s.n(), s.k(), s.batches());
      Map<GemmConfig, Double> timed = new LinkedHashMap<>();
      timed.put(defaults, time(backend, s, defaults, repeats));
      for (GemmConfig c : candidates) timed.computeIfAbsent(c, x -> time(backend, s, x, repeats));
      List<GemmConfig> fastest = timed.entrySet().stream().filter(e -> !Double.isNaN(e.getValue()))
          .sorted(Map.Entry.comparingByValue()).limit(REFINED).map(Map.Entry::getKey).toList();
      for (GemmConfig c : fastest) {
        for (GemmConfig v : c.variants(backend.gemm())) timed.computeIfAbsent(v, x -> time(backend, s, x, repeats));
      }
      GemmConfig best = defaults;
      double defaultMs = timed.get(defaults);
      double bestMs = Double.isNaN(defaultMs) ? Double.POSITIVE_INFINITY : defaultMs;
      int tried = 0;
      for (Map.Entry<GemmConfig, Double> e : timed.entrySet()) {
        if (Double.isNaN(e.getValue())) continue;
        tried++;
        if (e.getValue() < bestMs) {
          bestMs = e.getValue();
          best = e.getKey();
        }
      }
      out.add(new Result(s, defaults, defaultMs, best, bestMs, tried));
    }
    return out;
  }

  /**
   * Sets {@code gemm.cl}'s arguments for {@code batches} independent M×N products over K, member
   * e of A at {@code e·M·K} (stored K×M when {@code transA}), of B at {@code e·K·N} (N×K when
   * {@code transB}), of C at {@code e·M·N}; alpha 1, beta 0, no epilogue (C stands in, unread, for
   * the bias).
   */
  static void setPlainArgs(cl_kernel kernel, int m, int n, int k, int batches, cl_mem a, boolean transA, cl_mem b,
      boolean transB, cl_mem c) {
    Object[] args = {m, n, k, batches, 1, 1f, a, 0, transA ? 1 : k, transA ? m : 1, m * k, b, 0, transB ? 1 : n,
        transB ? k : 1, k * n, 0f, c, 0, n, m * n, c, 0, 0, 0};
    for (int i = 0; i < args.length; i++) {
      if (args[i] instanceof Integer v) clSetKernelArg(kernel, i, Sizeof.cl_int, Pointer.to(new int[] {v}));
      else if (args[i] instanceof Float v) clSetKernelArg(kernel, i, Sizeof.cl_float, Pointer.to(new float[] {v}));
      else clSetKernelArg(kernel, i, Sizeof.cl_mem, Pointer.to((cl_mem) args[i]));
    }
  }

  /** Milliseconds of one launch of this tiling on this shape, or NaN when the device refuses it. */
  static double time(OpenClBackend backend, Shape s, GemmConfig c, int repeats) {
    long aSize = (long) s.batches() * s.m() * s.k(), bSize = (long) s.batches() * s.k() * s.n();
    long cSize = (long) s.batches() * s.m() * s.n();
    cl_mem a = null, b = null, out = null;
    cl_kernel kernel = null;
    try {
      kernel = clCreateKernel(backend.programs.get("gemm.cl", c.defines()), "gemm", null);
      a = clCreateBuffer(backend.context, CL_MEM_READ_WRITE, 4 * aSize, null, null);
      b = clCreateBuffer(backend.context, CL_MEM_READ_WRITE, 4 * bSize, null, null);
      out = clCreateBuffer(backend.context, CL_MEM_READ_WRITE, 4 * cSize, null, null);
      setPlainArgs(kernel, s.m(), s.n(), s.k(), s.batches(), a, false, b, false, out);
      long[] global = c.globalSize(s.m(), s.n(), s.batches()), local = c.localSize();
      double best = Double.MAX_VALUE;
      for (int rep = -1; rep < repeats; rep++) {
        long t0 = System.nanoTime();
        clEnqueueNDRangeKernel(backend.queue, kernel, 3, null, global, local, 0, null, null);
        clFinish(backend.queue);
        if (rep >= 0) best = Math.min(best, (System.nanoTime() - t0) / 1e6);
      }
      return best;
    } catch (CLException | KernelBuildException e) {
      return Double.NaN; // a tiling this device cannot build or launch is simply not a candidate
    } finally {
      if (kernel != null) clReleaseKernel(kernel);
      for (cl_mem m : new cl_mem[] {a, b, out}) if (m != null) clReleaseMemObject(m);
    }
  }
}
