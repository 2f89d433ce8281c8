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
 *     The system property {@code nodal.gemm.kernel} ({@code auto}, {@code 4x3}, {@code 6x4},
 *     {@code 8x2}) sets it, for benchmarks.
 */
public record CpuOptions(boolean vectorApi, Microkernel microkernel) {

  /** The register tile of the Vector API product: rows of C × vectors of its columns. */
  public enum Microkernel {
    /**
     * Where the CPU has 32 vector registers of 512 bits, 6×4 when C is large enough, else 8×2 when
     * it pads C less than 4×3; else 4×3.
     */
    AUTO("auto"),
    /** 4 rows × 3 vectors (12 accumulators), which every vector width holds. */
    NARROW_4X3("4x3"),
    /** 6 rows × 4 vectors (24 accumulators); 4×3 where the registers are missing. */
    WIDE_6X4("6x4"),
    /** 8 rows × 2 vectors (16 accumulators); 4×3 where the registers are missing. */
    TALL_8X2("8x2");

    private final String text;

    Microkernel(String text) {
      this.text = text;
    }

    /** As written in {@code nodal.gemm.kernel}: {@code auto}, {@code 4x3}, {@code 6x4} or {@code 8x2}. */
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
      throw new IllegalArgumentException("GEMM microkernel '" + text + "': use auto, 4x3, 6x4 or 8x2");
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
