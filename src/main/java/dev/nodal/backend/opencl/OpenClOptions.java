package dev.nodal.backend.opencl;

import java.nio.file.Path;

/**
 * How OpenCL is found ({@link OpenCl#probe(OpenClOptions)}) and how an {@link OpenClBackend} chooses
 * its products' tiles. Two backends of one JVM may hold different options; nothing here is read
 * from the environment (the edge that does is {@code dev.nodal.devices.NodalOptions#fromEnvironment},
 * whose variables are named below).
 *
 * @param disabled true: discovery finds no OpenCL, as on a machine without it
 *     ({@code NODAL_DISABLE_OPENCL=1}); default false
 * @param gemmTiles the tiles forced on every product, written {@code tileM,tileN,tileK,wptM,wptN[,vec,doubleBuffer]}
 *     ({@code NODAL_GEMM}); null for none (the default). A value that is malformed or does not fit
 *     a device is left out with a warning when that device's backend is opened.
 * @param tuningCache the file of tiles that {@code nodal tune} measured ({@code
 *     $NODAL_CACHE_DIR/gemm-tuning.json}); default {@code ~/.cache/nodal/gemm-tuning.json}; null
 *     for none
 * @param unchained true: load OpenCL into a Linux JVM that runs without signal chaining, at the
 *     risk of a crash ({@code NODAL_OPENCL_UNCHAINED=1}; see {@link SignalChaining}); default false
 * @param loaderLibrary the OpenCL loader the user means ({@code NODAL_OPENCL_LIBRARY}; Linux only),
 *     refused unless it is the file JOCL will open; null to search the usual places (the default)
 */
public record OpenClOptions(boolean disabled, String gemmTiles, Path tuningCache, boolean unchained,
    String loaderLibrary) {

  public OpenClOptions {
    gemmTiles = gemmTiles == null || gemmTiles.isBlank() ? null : gemmTiles;
    loaderLibrary = loaderLibrary == null || loaderLibrary.isBlank() ? null : loaderLibrary;
  }

  /** OpenCL searched in the usual places, tiles chosen per device and from the default tuning cache. */
  public static OpenClOptions defaults() {
    return new OpenClOptions(false, null, defaultTuningCache(), false, null);
  }

  /** {@code ~/.cache/nodal/gemm-tuning.json}, under the user's home folder. */
  public static Path defaultTuningCache() {
    return tuningCacheIn(Path.of(System.getProperty("user.home"), ".cache", "nodal"));
  }

  /** The tuning cache of the folder {@code dir} ({@code $NODAL_CACHE_DIR}): {@code dir/gemm-tuning.json}. */
  public static Path tuningCacheIn(Path dir) {
    return dir.resolve("gemm-tuning.json");
  }

  public OpenClOptions withDisabled(boolean on) {
    return new OpenClOptions(on, gemmTiles, tuningCache, unchained, loaderLibrary);
  }

  public OpenClOptions withGemmTiles(String tiles) {
    return new OpenClOptions(disabled, tiles, tuningCache, unchained, loaderLibrary);
  }

  public OpenClOptions withTuningCache(Path file) {
    return new OpenClOptions(disabled, gemmTiles, file, unchained, loaderLibrary);
  }

  public OpenClOptions withUnchained(boolean on) {
    return new OpenClOptions(disabled, gemmTiles, tuningCache, on, loaderLibrary);
  }

  public OpenClOptions withLoaderLibrary(String library) {
    return new OpenClOptions(disabled, gemmTiles, tuningCache, unchained, library);
  }
}
