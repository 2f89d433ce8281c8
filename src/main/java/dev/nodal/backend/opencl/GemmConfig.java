package dev.nodal.backend.opencl;

/**
 * The tile sizes of {@code kernels/gemm.cl}: a work-group computes a {@code tileM × tileN} block
 * of C, stepping through K by {@code tileK}, each work-item computing {@code wptM × wptN}
 * outputs, reading {@code vec} elements per load ({@code 1}, {@code 2} or {@code 4}), with
 * double-buffered local tiles or not. Passed to the kernel as {@code -D} defines; the host
 * derives the launch sizes from the same record, so the two cannot disagree.
 *
 * <p>What the kernel needs of any tiling, checked here: every size at least 1 (a tile side of 0
 * divides by zero in the kernel, which then never ends); the work per item dividing its tile
 * side; loads of 1, 2 or 4 elements dividing every tile side; tile sides at most
 * {@link #MAX_TILE} and work per item at most {@link #MAX_WORK_PER_ITEM} along a side (the
 * item's sums live in its registers). What a device needs besides, its work-group size and local
 * memory, {@link #misfit} checks.
 */
public record GemmConfig(int tileM, int tileN, int tileK, int wptM, int wptN, int vec, boolean doubleBuffer) {
  /** The longest tile side accepted on any device. */
  public static final int MAX_TILE = 1024;
  /** The most outputs per work-item along one side of its block. */
  public static final int MAX_WORK_PER_ITEM = 16;

  public GemmConfig {
    String tiles = "gemm tiles " + tileM + "x" + tileN + "x" + tileK + " with " + wptM + "x" + wptN + " per work-item";
    if (tileM < 1 || tileN < 1 || tileK < 1 || wptM < 1 || wptN < 1) {
      throw new IllegalArgumentException(tiles + ": every tile side and the work per item must be at least 1");
    }
    if (tileM > MAX_TILE || tileN > MAX_TILE || tileK > MAX_TILE) {
      throw new IllegalArgumentException(tiles + ": tile sides must be at most " + MAX_TILE);
    }
    if (wptM > MAX_WORK_PER_ITEM || wptN > MAX_WORK_PER_ITEM) {
      throw new IllegalArgumentException(tiles + ": the work per item must be at most " + MAX_WORK_PER_ITEM + " along a side");
    }
    if (tileM % wptM != 0 || tileN % wptN != 0) {
      throw new IllegalArgumentException(tiles + ": the work per item must divide the tile");
    }
    if ((vec != 1 && vec != 2 && vec != 4) || tileM % vec != 0 || tileN % vec != 0 || tileK % vec != 0) {
      throw new IllegalArgumentException("gemm tiles " + tileM + "x" + tileN + "x" + tileK + " with loads of " + vec
          + ": loads must be of 1, 2 or 4 elements and divide every tile side");
    }
  }

  /**
   * Why a device with these limits cannot run this tiling, or null when it can: more work-items
   * than its work-group size, or more local memory than it has.
   *
   * @param maxWorkGroupSize the device's {@code CL_DEVICE_MAX_WORK_GROUP_SIZE}
   * @param localMemory the device's {@code CL_DEVICE_LOCAL_MEM_SIZE}, in bytes
   */
  public String misfit(long maxWorkGroupSize, long localMemory) {
    long threads = (long) threadsM() * threadsN();
    if (threads > maxWorkGroupSize) {
      return "tiles " + text() + " need " + threads + " work-items per work-group, more than the device's " + maxWorkGroupSize;
    }
    if (localBytes() > localMemory) {
      return "tiles " + text() + " need " + localBytes() + " bytes of local memory, more than the device's " + localMemory;
    }
    return null;
  }

  /** Scalar loads, one buffer: the kernel's plain form. */
  public GemmConfig(int tileM, int tileN, int tileK, int wptM, int wptN) {
    this(tileM, tileN, tileK, wptM, wptN, 1, false);
  }

  /** Work-items of a work-group along N (dimension 0) and M (dimension 1). */
  public int threadsN() {
    return tileN / wptN;
  }

  public int threadsM() {
    return tileM / wptM;
  }

  public String defines() {
    return "-DTILE_M=" + tileM + " -DTILE_N=" + tileN + " -DTILE_K=" + tileK + " -DWPT_M=" + wptM + " -DWPT_N=" + wptN
        + " -DVEC=" + vec + " -DDB=" + (doubleBuffer ? 1 : 0);
  }

  /** The global size of a launch over an M×N C for each of {@code outputs} products. */
  public long[] globalSize(int m, int n, int outputs) {
    return new long[] {(long) ((n + tileN - 1) / tileN) * threadsN(), (long) ((m + tileM - 1) / tileM) * threadsM(),
        outputs};
  }

  /** The local size the kernel requires ({@code reqd_work_group_size}). */
  public long[] localSize() {
    return new long[] {threadsN(), threadsM(), 1};
  }

  /** Bytes of local memory the kernel's tiles take (twice as many with double buffering). */
  public long localBytes() {
    return 4L * tileK * ((tileM + 1) + (tileN + 1)) * (doubleBuffer ? 2 : 1);
  }

  static final GemmConfig LARGE = new GemmConfig(128, 128, 32, 8, 8);
  static final GemmConfig MEDIUM = new GemmConfig(64, 64, 16, 4, 4);
  static final GemmConfig FINE = new GemmConfig(32, 32, 16, 2, 2);
  static final GemmConfig SMALL = new GemmConfig(32, 32, 16, 4, 4);

  /**
   * The tiles for an M×N product on a device: the device's override when set (for tuning; see
   * {@link #parse}); else the largest tiles that still give
   * the device enough work-groups: 128×128 (8×8 per work-item) with at least two tiles per
   * compute unit and the local memory for them; 64×64 (4×4) with at least one per compute unit;
   * else 32×32 (2×2), for the small products of training steps. All of these have 256
   * work-items; devices that cannot hold 256 get 32×32 with 4×4 per work-item. Measured on an
   * H100 (docs/measurements): 4096³ ran at 26.4 TFLOP/s with 128×128 tiles against 15.9 with
   * 64×64; 1024³ at 14.3 with 64×64 against 9.2 with 128×128; the MLP 784-1024-1024-10 step at
   * batch 256 took 1.00 ms with 32×32 tiles against 1.09 ms with 64×64.
   */
  public static GemmConfig choose(GemmDevice device, int m, int n) {
    return choose(device, m, n, 0, 1);
  }

  /**
   * As {@link #choose(GemmDevice, int, int)}, for {@code batches} M×N products over K in one
   * launch: the tiles tuned for that {@link #shapeClass} on this device when there are some.
   */
  public static GemmConfig choose(GemmDevice device, int m, int n, int k, int batches) {
    if (device.override() != null) return device.override();
    GemmConfig tuned = device.tuned().get(shapeClass(m, n, k, batches));
    if (tuned != null) return tuned;
    if (device.maxWorkGroupSize() < 256) return SMALL;
    int units = device.computeUnits();
    if (device.localMemory() >= LARGE.localBytes() && LARGE.tiles(m, n) * batches >= 2L * units) return LARGE;
    return MEDIUM.tiles(m, n) * batches >= units ? MEDIUM : FINE;
  }

  /**
   * The class that tuning measures a product under: each of M, N, K and the launch's batch of
   * outputs rounded up to a power of two, for example {@code 128x256x1024x1}. A smaller last batch
   * falls in the same class as a full one, mostly.
   */
  public static String shapeClass(int m, int n, int k, int batches) {
    return ceilPow2(m) + "x" + ceilPow2(n) + "x" + ceilPow2(k) + "x" + ceilPow2(batches);
  }

  /**
   * K times the products one output sums, in a launch of {@code batch} products summed {@code sum}
   * at a time: with {@link #outputs}, what the planner chooses tiles by and {@code nodal tune}
   * measures by.
   */
  public static int innerLength(int k, int batch, int sum) {
    return k * Math.min(sum, batch);
  }

  /** The outputs of a launch of {@code batch} products summed {@code sum} at a time. */
  public static int outputs(int batch, int sum) {
    return (batch + sum - 1) / sum;
  }

  private static int ceilPow2(int x) {
    return x <= 1 ? 1 : Integer.highestOneBit(x - 1) << 1;
  }

  /** The same tiles as {@link #parse} reads them: the load width and buffering only where not plain. */
  public String text() {
    String tiles = tileM + "," + tileN + "," + tileK + "," + wptM + "," + wptN;
    return vec == 1 && !doubleBuffer ? tiles : tiles + "," + vec + "," + (doubleBuffer ? 1 : 0);
  }

  /**
   * The tilings that tuning tries on a device: square and 1:2 tiles of 32 to 128, thin tiles of
   * 8 × 128 and 128 × 8 (a batch of one row, a layer of a few outputs), K steps of 16 and 32, 2 to
   * 8 outputs per work-item, within the device's work-group size and local memory.
   */
  public static java.util.List<GemmConfig> searchSpace(GemmDevice device) {
    java.util.List<GemmConfig> out = new java.util.ArrayList<>();
    int[][] tiles = {{32, 32}, {64, 64}, {128, 128}, {32, 64}, {64, 32}, {64, 128}, {128, 64}, {8, 128}, {128, 8}};
    for (int[] t : tiles) {
      for (int tileK : new int[] {16, 32}) {
        for (int wpt : new int[] {2, 4, 8}) {
          if (t[0] % wpt != 0 || t[1] % wpt != 0) continue;
          GemmConfig c = new GemmConfig(t[0], t[1], tileK, wpt, wpt);
          long threads = (long) c.threadsM() * c.threadsN();
          if (threads < 16 || threads > 256 || c.misfit(device.maxWorkGroupSize(), device.localMemory()) != null) continue;
          out.add(c);
        }
      }
    }
    return java.util.List.copyOf(out);
  }

  /**
   * This tiling with wider loads and double buffering, each way that fits the device's local
   * memory: what tuning tries on the tilings that measured fastest.
   */
  public java.util.List<GemmConfig> variants(GemmDevice device) {
    java.util.List<GemmConfig> out = new java.util.ArrayList<>();
    for (int v : new int[] {1, 4}) {
      for (boolean db : new boolean[] {false, true}) {
        if (v == vec && db == doubleBuffer) continue;
        if (tileM % v != 0 || tileN % v != 0 || tileK % v != 0) continue;
        GemmConfig c = new GemmConfig(tileM, tileN, tileK, wptM, wptN, v, db);
        if (c.misfit(device.maxWorkGroupSize(), device.localMemory()) == null) out.add(c);
      }
    }
    return java.util.List.copyOf(out);
  }

  /** Work-groups of an M×N product. */
  long tiles(int m, int n) {
    return (long) ((m + tileM - 1) / tileM) * ((n + tileN - 1) / tileN);
  }

  /** Every configuration {@link #choose} may return on this device, to build ahead of any step. */
  public static java.util.List<GemmConfig> candidates(GemmDevice device) {
    if (device.override() != null) return java.util.List.of(device.override());
    java.util.Set<GemmConfig> all = new java.util.LinkedHashSet<>();
    if (device.maxWorkGroupSize() < 256) all.add(SMALL);
    else all.addAll(device.localMemory() >= LARGE.localBytes() ? java.util.List.of(FINE, MEDIUM, LARGE)
        : java.util.List.of(FINE, MEDIUM));
    all.addAll(device.tuned().values());
    return java.util.List.copyOf(all);
  }

  /**
   * Tiles written as {@code tileM,tileN,tileK,wptM,wptN}, optionally followed by the load width and
   * 1 for double buffering ({@code ,4,1}), as {@code $NODAL_GEMM} and the tuning cache give them.
   *
   * @throws IllegalArgumentException saying what is wrong with {@code text} (the caller names
   *     where it came from)
   */
  public static GemmConfig parse(String text) {
    String[] p = text.trim().split("\\s*,\\s*", -1);
    if (p.length != 5 && p.length != 7) {
      throw new IllegalArgumentException("expected 5 or 7 whole numbers, tileM,tileN,tileK,wptM,wptN[,vec,doubleBuffer]; got "
          + p.length);
    }
    int[] v = new int[p.length];
    for (int i = 0; i < p.length; i++) {
      try {
        v[i] = Integer.parseInt(p[i]);
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("'" + p[i] + "' is " + (p[i].matches("[+-]?\\d+") ? "out of range"
            : "not a whole number"));
      }
    }
    if (p.length == 5) return new GemmConfig(v[0], v[1], v[2], v[3], v[4]);
    if (v[6] != 0 && v[6] != 1) throw new IllegalArgumentException("doubleBuffer must be 0 or 1, got " + v[6]);
    return new GemmConfig(v[0], v[1], v[2], v[3], v[4], v[5], v[6] == 1);
  }
}
