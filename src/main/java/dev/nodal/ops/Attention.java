package dev.nodal.ops;

import static dev.nodal.graph.Launcher.over;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.Kernel;
import dev.nodal.graph.Launcher;
import dev.nodal.graph.Op;
import dev.nodal.graph.Pass;
import dev.nodal.graph.ShapeContext;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuMath;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Shape;
import dev.nodal.tensor.ThreadBuffers;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Scaled dot-product attention as one fused op: {@code q [..., Tq, D]}, {@code k [..., Tk, D]} and
 * {@code v [..., Tk, Dv]} with the same leading dimensions (heads {@code [N, H, T, D]}, a leading
 * {@link Shape#BATCH} allowed) give {@code softmax(scale·q·kᵀ)·v}, of shape {@code [..., Tq, Dv]}:
 * PyTorch 2.1's {@code scaled_dot_product_attention(q, k, v, is_causal=causal, scale=scale,
 * dropout_p=dropout)}, or written out,
 * {@code torch.softmax(scale * q @ k.transpose(-1, -2) + mask, -1) @ v}.
 *
 * <p>{@code scale} defaults to {@code 1/√D}, also when given as 0. With {@code causal}, key j is
 * visible to query i when {@code j ≤ i + (Tk − Tq)}, as {@link Softmax#Softmax(boolean) causal
 * softmax} masks; it needs {@code Tq ≤ Tk}. With {@code dropout} p, in training mode each weight is
 * kept with probability {@code 1 − p} and scaled by {@code 1/(1 − p)}, the mask of weight
 * {@code (b, i, j)} being {@link Dropout}'s for element {@code (b·Tq + i)·Tk + j} of its
 * {@code seed} at the optimizer's step: the same as a dropout node of that seed on the weights
 * {@code [..., Tq, Tk]}, regenerated in backward rather than stored.
 *
 * <p>The weights are never stored: forward keeps per query row only its running maximum and sum
 * (an online softmax over tiles of keys) and saves the row's log-sum-exp {@code L [..., Tq]} in
 * its workspace. Backward recomputes the weights {@code P = exp(scale·q·kᵀ − L)} tile by tile:
 * with {@code Δ_i = Σ_c dO_ic·O_ic}, {@code dS = P ⊙ (dP − Δ)} where {@code dP = dO·vᵀ} (times the
 * mask), {@code dq = scale·dS·k}, {@code dk = scale·dSᵀ·q} and {@code dv = Pᵀ·dO} (P masked). Memory
 * beside the inputs and output is linear in T. On a device one work-group computes a tile of
 * query rows, staging tiles of keys in local memory; backward runs one kernel per tile of queries
 * (dq) and one per tile of keys (dk, dv), without atomics, so its result is deterministic.
 */
public final class Attention implements Op {
  /** Query rows (and key rows) per tile, as {@code ATT_TILE} in attention.cl. */
  static final int TILE = 16;

  private static Kernel tiled(String function) {
    return Kernel.of("attention", function).ints("tq", "tk", "d", "dv", "causal").floats("scale", "p")
        .ints("seed", "step").buffers("q", "k", "v");
  }

  /** Query rows per block on the CPU: a block's scores {@code [rows, Tk]} stay in its core's cache. */
  private static final int CPU_ROWS = 64;
  /** A block's scores (and in backward their gradient) on the CPU, per thread. */
  private static final ThreadBuffers.Key SCORES = new ThreadBuffers.Key("attention scores", 2);
  private static final Kernel FORWARD = tiled("attention_forward").buffers("o", "lse");
  private static final Kernel DELTA = Kernel.of("attention", "attention_delta").ints("rows", "dv")
      .buffers("o", "do", "delta");
  private static final Kernel BACKWARD_Q = tiled("attention_backward_q").buffers("do", "lse", "delta", "dq")
      .ints("acc");
  private static final Kernel BACKWARD_KV = tiled("attention_backward_kv").buffers("do", "lse", "delta", "dk", "dvv")
      .ints("acc_k", "acc_v");

  /** The graph file's attributes: each absent one as the defaults of {@link #Attention(boolean)}. */
  static final AttributeSchema SCHEMA = AttributeSchema.of(AttributeSchema.bool("causal", false),
      AttributeSchema.number("scale", 0.0, 0, true, Double.MAX_VALUE, true),
      AttributeSchema.number("dropout", 0.0, 0, true, 1, false),
      AttributeSchema.integer("seed", 0, Integer.MIN_VALUE, Integer.MAX_VALUE));

  static Attention fromAttributes(AttributeSchema.Values a) {
    return new Attention(a.bool("causal"), (float) a.number("scale"), (float) a.number("dropout"), a.integer("seed"));
  }

  private final boolean causal;
  private final float scale;
  private final float dropout;
  private final int seed;

  /** Attention scaled by {@code 1/√D}, without dropout; causal or not. */
  public Attention(boolean causal) {
    this(causal, 0f, 0f, 0);
  }

  /**
   * @param scale the scores' factor; 0 for {@code 1/√D}
   * @param dropout the probability of dropping a weight in training mode, {@code 0 ≤ p < 1}
   * @param seed the dropout mask's seed: give each attention node with dropout its own
   */
  public Attention(boolean causal, float scale, float dropout, int seed) {
    if (!(scale >= 0 && scale < Float.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("attention: scale must be finite and >= 0 (0: 1/sqrt(D)), got " + scale);
    }
    if (!(dropout >= 0 && dropout < 1)) throw new IllegalArgumentException("attention: need 0 <= dropout < 1, got " + dropout);
    this.causal = causal;
    this.scale = scale;
    this.dropout = dropout;
    this.seed = seed;
  }

  @Override
  public String kind() {
    return "attention";
  }

  @Override
  public List<String> inputRoles() {
    return List.of("q", "k", "v");
  }

  /** The attributes that differ from their defaults: none for plain attention, as graph files leave them. */
  @Override
  public Map<String, Object> attributes() {
    Map<String, Object> a = new LinkedHashMap<>();
    if (causal) a.put("causal", true);
    if (scale != 0) a.put("scale", scale);
    if (dropout != 0) {
      a.put("dropout", dropout);
      a.put("seed", seed);
    }
    return a;
  }

  /** True with dropout, which acts in training mode only. */
  @Override
  public boolean dependsOnMode() {
    return dropout != 0;
  }

  @Override
  public Shape inferShape(ShapeContext c) {
    Shape q = c.in(0), k = c.in(1), v = c.in(2);
    for (int i = 0; i < 3; i++) {
      Shape s = c.in(i);
      if (s.rank() < 2 || s.rank() == 2 && s.hasBatch()) {
        throw c.error("input '%s' %s: attention needs [..., T, D], the last two dimensions other than the batch",
            c.name(i), s);
      }
    }
    if (k.rank() != q.rank() || v.rank() != q.rank()
        || !Arrays.equals(lead(q), lead(k)) || !Arrays.equals(lead(q), lead(v))) {
      throw c.error("q '%s' %s, k '%s' %s and v '%s' %s need the same leading dimensions", c.name(0), q, c.name(1), k,
          c.name(2), v);
    }
    if (k.dim(-1) != q.dim(-1)) {
      throw c.error("k '%s' %s has %d features per key, q '%s' %s has %d: they must match", c.name(1), k, k.dim(-1),
          c.name(0), q, q.dim(-1));
    }
    if (v.dim(-2) != k.dim(-2)) {
      throw c.error("v '%s' %s has %d rows, k '%s' %s has %d keys: one value per key", c.name(2), v, v.dim(-2),
          c.name(1), k, k.dim(-2));
    }
    if (causal && q.dim(-2) > k.dim(-2)) {
      throw c.error("q '%s' %s, k '%s' %s: a causal mask needs Tq <= Tk, or its first %d queries would see no key",
          c.name(0), q, c.name(1), k, q.dim(-2) - k.dim(-2));
    }
    int[] out = q.dims();
    out[out.length - 1] = v.dim(-1);
    return Shape.of(out);
  }

  private static int[] lead(Shape s) {
    return Arrays.copyOf(s.dims(), s.rank() - 2);
  }

  /** The rows' log-sum-exp {@code [..., Tq]}, saved by forward for backward. */
  @Override
  public List<Shape> workspace(Shape[] in) {
    return List.of(rowsOf(in[0]));
  }

  /** Backward's {@code Δ [..., Tq]} on a device. */
  @Override
  public List<Shape> scratch(Shape[] in, boolean backward) {
    return backward ? List.of(rowsOf(in[0])) : List.of();
  }

  private static Shape rowsOf(Shape q) {
    return Shape.of(Arrays.copyOf(q.dims(), q.rank() - 1));
  }

  /** The sizes of one launch or one CPU pass, the batch resolved. */
  private record Dims(int lead, int tq, int tk, int d, int dv) {
    static Dims of(Shape q, Shape k, Shape v) {
      int tq = q.dim(-2), d = q.dim(-1);
      return new Dims(q.size(0) / (tq * d), tq, k.dim(-2), d, v.dim(-1));
    }

    /** How many keys query row i sees. */
    int visible(boolean causal, int i) {
      return causal ? Softmax.causalVisible(i, tq, tk) : tk;
    }
  }

  /** The scores' factor for features of length d. */
  private float scaleFor(int d) {
    return scale != 0 ? scale : (float) (1 / Math.sqrt(d));
  }

  private float rate(boolean training) {
    return training ? dropout : 0f;
  }

  /**
   * On the CPU each (leading index, block of {@link #CPU_ROWS} queries) runs three small products:
   * the block's scores {@code S = scale·q·kᵀ [rows, keys]}, their softmax in place (keys beyond a
   * row's causal limit get weight 0), and {@code O = P·v}. Blocks write disjoint rows of the
   * output, so they run in parallel and the result does not depend on the number of threads.
   */
  @Override
  public void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Dims n = Dims.of(in[0].shape, in[1].shape, in[2].shape);
    float[] q = in[0].data, k = in[1].data, v = in[2].data, o = out.data, lse = pass.work(0).data;
    float sc = scaleFor(n.d), p = rate(pass.training());
    int step = (int) pass.step(), blocks = (n.tq + CPU_ROWS - 1) / CPU_ROWS;
    CpuContext cpu = pass.cpu();
    IntStream.range(0, n.lead * blocks).parallel().forEach(task -> cpu.serially(() -> {
      int b = task / blocks, i0 = task % blocks * CPU_ROWS, rows = Math.min(CPU_ROWS, n.tq - i0);
      int keys = n.visible(causal, i0 + rows - 1), first = b * n.tq + i0;
      float[] s = cpu.buffers(SCORES).get(0, rows * keys);
      cpu.gemm(false, true, rows, keys, n.d, sc, q, first * n.d, k, b * n.tk * n.d, 0f, s, 0);
      for (int r = 0; r < rows; r++) {
        int row = first + r, at = r * keys, len = n.visible(causal, i0 + r);
        float max = Float.NEGATIVE_INFINITY;
        for (int j = 0; j < len; j++) max = Math.max(max, s[at + j]);
        CpuMath.expShifted(cpu, s, at, at + len, max);
        double sum = 0;
        for (int j = 0; j < len; j++) sum += s[at + j];
        float inv = (float) (1 / sum);
        for (int j = 0; j < len; j++) s[at + j] *= inv;
        if (p != 0) for (int j = 0; j < len; j++) s[at + j] *= Dropout.scale(p, seed, step, row * n.tk + j);
        Arrays.fill(s, at + len, at + keys, 0f);
        lse[row] = (float) (max + Math.log(sum));
      }
      cpu.gemm(false, false, rows, n.dv, keys, 1f, s, 0, v, b * n.tk * n.dv, 0f, o, first * n.dv);
    }));
  }

  /**
   * On the CPU, per leading index and block of queries: the weights {@code P} recomputed from
   * {@code S} and the saved log-sum-exp, {@code dP = dO·vᵀ}, {@code dS = scale·P ⊙ (dP·mask − Δ)},
   * then {@code dq += dS·k}, {@code dk += dSᵀ·q} and {@code dv += (P ⊙ mask)ᵀ·dO}. Leading indices
   * run in parallel; the blocks of one add into the same dk and dv, so they run in order.
   */
  @Override
  public void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Dims n = Dims.of(in[0].shape, in[1].shape, in[2].shape);
    float[] q = in[0].data, k = in[1].data, v = in[2].data, o = out.data, dO = dOut.data, lse = pass.work(0).data;
    float[] dq = dIn[0] == null ? null : dIn[0].data, dk = dIn[1] == null ? null : dIn[1].data;
    float[] dv = dIn[2] == null ? null : dIn[2].data;
    float sc = scaleFor(n.d);
    int step = (int) pass.step();
    CpuContext cpu = pass.cpu();
    // Gradients to set rather than add to: dq row block by row block; dk and dv by the first block
    // (beta 0) over the keys it sees, and zeros beyond them, before the later blocks add.
    boolean setQ = dq != null && pass.overwrites(0), setK = dk != null && pass.overwrites(1);
    boolean setV = dv != null && pass.overwrites(2);
    int firstKeys = n.visible(causal, Math.min(CPU_ROWS, n.tq) - 1);
    IntStream.range(0, n.lead).parallel().forEach(b -> cpu.serially(() -> {
      float[][] set = cpu.buffers(SCORES).set();
      int kb = b * n.tk * n.d, vb = b * n.tk * n.dv;
      if (setK) Arrays.fill(dk, kb + firstKeys * n.d, kb + n.tk * n.d, 0f);
      if (setV) Arrays.fill(dv, vb + firstKeys * n.dv, vb + n.tk * n.dv, 0f);
      for (int i0 = 0; i0 < n.tq; i0 += CPU_ROWS) {
        int rows = Math.min(CPU_ROWS, n.tq - i0), keys = n.visible(causal, i0 + rows - 1), first = b * n.tq + i0;
        float[] w = ThreadBuffers.grow(set, 0, rows * keys), ds = ThreadBuffers.grow(set, 1, rows * keys);
        cpu.gemm(false, true, rows, keys, n.d, sc, q, first * n.d, k, kb, 0f, w, 0);
        cpu.gemm(false, true, rows, keys, n.dv, 1f, dO, first * n.dv, v, vb, 0f, ds, 0);
        for (int r = 0; r < rows; r++) {
          int row = first + r, at = r * keys, len = n.visible(causal, i0 + r);
          float delta = 0;
          for (int c = 0; c < n.dv; c++) delta += dO[row * n.dv + c] * o[row * n.dv + c];
          CpuMath.expShifted(cpu, w, at, at + len, lse[row]);
          for (int j = 0; j < len; j++) {
            float weight = w[at + j], mask = Dropout.scale(dropout, seed, step, row * n.tk + j);
            ds[at + j] = sc * weight * (ds[at + j] * mask - delta);
            w[at + j] = weight * mask;
          }
          Arrays.fill(w, at + len, at + keys, 0f);
          Arrays.fill(ds, at + len, at + keys, 0f);
        }
        float betaQ = setQ ? 0f : 1f, betaK = setK && i0 == 0 ? 0f : 1f, betaV = setV && i0 == 0 ? 0f : 1f;
        if (dq != null) cpu.gemm(false, false, rows, n.d, keys, 1f, ds, 0, k, kb, betaQ, dq, first * n.d);
        if (dk != null) cpu.gemm(true, false, keys, n.d, rows, 1f, ds, 0, q, first * n.d, betaK, dk, kb);
        if (dv != null) cpu.gemm(true, false, keys, n.dv, rows, 1f, w, 0, dO, first * n.dv, betaV, dv, vb);
      }
    }));
  }

  /** Backward reaches every element of dq, dk and dv: it sets them whole where asked. */
  @Override
  public boolean overwritesGradients() {
    return true;
  }

  @Override
  public void forwardKernels(Launcher l) {
    Dims n = Dims.of(l.inShape(0), l.inShape(1), l.inShape(2));
    l.launch(FORWARD, over(n.tq, n.lead).inGroupsOf(TILE, 1), tiledArgs(l, n, rate(l.training()), l.out(), l.work(0)));
  }

  @Override
  public void backwardKernels(Launcher l) {
    Dims n = Dims.of(l.inShape(0), l.inShape(1), l.inShape(2));
    int rows = n.lead * n.tq;
    l.launch(DELTA, over(rows), rows, n.dv, l.out(), l.dOut(), l.scratch(0));
    if (l.dIn(0) != null) {
      l.launch(BACKWARD_Q, over(n.tq, n.lead).inGroupsOf(TILE, 1),
          tiledArgs(l, n, dropout, l.dOut(), l.work(0), l.scratch(0), l.dIn(0), l.accumulate(0)));
    }
    if (l.dIn(1) != null || l.dIn(2) != null) {
      // The kernel skips a gradient whose flag is -1; its buffer argument is then the other one's.
      Launcher.Buffer dk = l.dIn(1) != null ? l.dIn(1) : l.dIn(2), dv = l.dIn(2) != null ? l.dIn(2) : l.dIn(1);
      int accK = l.dIn(1) != null ? l.accumulate(1) : -1, accV = l.dIn(2) != null ? l.accumulate(2) : -1;
      l.launch(BACKWARD_KV, over(n.tk, n.lead).inGroupsOf(TILE, 1),
          tiledArgs(l, n, dropout, l.dOut(), l.work(0), l.scratch(0), dk, dv, accK, accV));
    }
  }

  private Object[] tiledArgs(Launcher l, Dims n, float p, Object... rest) {
    Object[] head = {n.tq, n.tk, n.d, n.dv, causal ? 1 : 0, scaleFor(n.d), p, seed, l.step(), l.in(0), l.in(1), l.in(2)};
    Object[] all = Arrays.copyOf(head, head.length + rest.length);
    System.arraycopy(rest, 0, all, head.length, rest.length);
    return all;
  }

  /** Each output sums over the keys, each score over the features. */
  @Override
  public int reductionLength(Shape[] in) {
    return in[1].dim(-2) + in[0].dim(-1);
  }
}
