package dev.nodal.tensor;

import java.util.Locale;

/**
 * How one CPU backend runs its matrix products ({@link CpuContext}). Two backends of one JVM may
 * hold different options; nothing here is read from the environment (the edge that does is
 * {@code dev.nodal.devices.NodalOptions#fromEnvironment}).
 *
 * @param vectorApi true: products run on the Vector API where this JVM has the
 *     {@code jdk.incubator.vector} module (without it, and with false, on plain Java loops).
 *     Default true; the environment's {@code NODAL_VECTOR=0} sets false.
 * @param microkernel the Vector API product's register tile; default {@link Microkernel#AUTO}.
 *     The system property {@code nodal.gemm.kernel} ({@link Microkernel#choices()}) sets it, for
 *     benchmarks and tests.
 */
public record CpuOptions(boolean vectorApi, Microkernel microkernel) {

  /** The register tile of the Vector API product: rows of C × vectors of its columns. */
  public enum Microkernel {
    /**
     * By the CPU's vector registers: with 32 (AVX-512, AArch64), 6×4 when C is large enough, else
     * 8×2 when it pads C less than 4×3, else 4×3; with 16 (AVX2, SSE), 6×2.
     */
    AUTO("auto"),
    /** 4 rows × 3 vectors (12 accumulators), which every vector width holds. */
    NARROW_4X3("4x3"),
    /** 6 rows × 4 vectors (24 accumulators); 6×2 where the registers are missing. */
    WIDE_6X4("6x4"),
    /** 8 rows × 2 vectors (16 accumulators); 6×2 where the registers are missing. */
    TALL_8X2("8x2"),
    /** 6 rows × 2 vectors (12 accumulators and 3 more registers), which 16 registers hold. */
    SHORT_6X2("6x2");

    private final String text;

    Microkernel(String text) {
      this.text = text;
    }

    /** As written in {@code nodal.gemm.kernel}, one of {@link #choices()}. */
    public String text() {
      return text;
    }

    /**
     * The microkernel written as {@link #text()} (case and surrounding blanks ignored).
     *
     * @throws IllegalArgumentException naming the value and the choices when it is none of them
     */
    public static Microkernel parse(String text) {
      String t = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
      for (Microkernel m : values()) if (m.text.equals(t)) return m;
      throw new IllegalArgumentException("GEMM microkernel '" + text + "': use " + choices());
    }

    /** Every value's text, for messages: "auto, 4x3, 6x4, 8x2 or 6x2". */
    public static String choices() {
      java.util.List<String> all = java.util.Arrays.stream(values()).map(Microkernel::text).toList();
      return String.join(", ", all.subList(0, all.size() - 1)) + " or " + all.get(all.size() - 1);
    }
  }

  public CpuOptions {
    if (microkernel == null) throw new IllegalArgumentException("microkernel is null (AUTO to let the product choose)");
  }

  /** The Vector API where the JVM has it, with the microkernel chosen per product. */
  public static CpuOptions defaults() {
    return new CpuOptions(true, Microkernel.AUTO);
  }

  public CpuOptions withVectorApi(boolean on) {
    return new CpuOptions(on, microkernel);
  }

  public CpuOptions withMicrokernel(Microkernel m) {
    return new CpuOptions(vectorApi, m);
  }
}
