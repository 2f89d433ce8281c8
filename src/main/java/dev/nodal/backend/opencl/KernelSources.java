package dev.nodal.backend.opencl;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The OpenCL sources of {@code kernels/}, read from the jar (or the class path). The line
 * {@code #include "common.h"} is replaced by that file's text (with the activations generated
 * from {@link dev.nodal.tensor.FusedActivation} spliced in), so programs build from one string
 * with no include path.
 */
public final class KernelSources {
  private static final ConcurrentHashMap<String, String> CACHE = new ConcurrentHashMap<>();

  private KernelSources() {}

  /**
   * Every file of {@code kernels/} that Nodal's own ops and optimizers build: the op catalogue's
   * programs, the optimizers' and the products' {@code gemm.cl}. (An op of one's own brings its
   * file on the class path; it is not listed here.)
   */
  public static List<String> all() {
    List<String> files = new ArrayList<>();
    for (String program : dev.nodal.ops.OpCatalogue.programs()) files.add(Lowering.file(program));
    files.add(Lowering.file(dev.nodal.optim.Optimizer.PROGRAM));
    files.add("gemm.cl");
    return List.copyOf(files);
  }

  /** The complete source of {@code kernels/<file>}, with common.h spliced in. */
  public static String source(String file) {
    return CACHE.computeIfAbsent(file, f -> read(f).replace("#include \"common.h\"",
        read("common.h").replace(ActivationSource.MARKER, ActivationSource.code())));
  }

  /** SHA-256 of the complete source, hex. */
  public static String hash(String file) {
    try {
      byte[] d = MessageDigest.getInstance("SHA-256").digest(source(file).getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(d);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String read(String file) {
    try (InputStream in = KernelSources.class.getResourceAsStream("/kernels/" + file)) {
      if (in == null) throw new IllegalStateException("kernels/" + file + " is not on the class path (is the jar complete?)");
      return new String(in.readAllBytes(), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new IllegalStateException("cannot read kernels/" + file + ": " + e.getMessage(), e);
    }
  }
}
