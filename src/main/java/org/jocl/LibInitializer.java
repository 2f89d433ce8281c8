package org.jocl;

import java.util.ArrayList;
import java.util.List;

/**
 * Replaces JOCL's own class of this name (excluded from Nodal's jar) to widen the OpenCL loader
 * search: JOCL 2.0.5 tries only {@code libOpenCL.so} on Linux, which exists only where a
 * development package added the symlink. Most machines with just the runtime package have
 * {@code libOpenCL.so.1}. Candidates, in order: {@code $NODAL_OPENCL_LIBRARY}, then the system
 * names (the versioned one first, which every loader package provides), then common absolute
 * paths. The one that loaded is published as the system property
 * {@code nodal.opencl.loader}; every one tried as {@code nodal.opencl.loader.tried}.
 */
final class LibInitializer {
  private LibInitializer() {}

  static void initNativeLibrary() {
    List<String> tried = new ArrayList<>();
    for (String candidate : candidates()) {
      tried.add(candidate);
      if (CL.initNativeLibrary(candidate)) {
        System.setProperty("nodal.opencl.loader", candidate);
        System.setProperty("nodal.opencl.loader.tried", String.join(", ", tried));
        return;
      }
    }
    System.setProperty("nodal.opencl.loader.tried", String.join(", ", tried));
    throw new UnsatisfiedLinkError("Could not initialize native OpenCL library: no OpenCL loader among " + tried
        + ". Install one (Debian/Ubuntu: apt-get install ocl-icd-libopencl1) or set NODAL_OPENCL_LIBRARY to its path.");
  }

  private static List<String> candidates() {
    List<String> c = new ArrayList<>();
    String override = System.getenv("NODAL_OPENCL_LIBRARY");
    if (override != null && !override.isBlank()) c.add(override);
    String os = System.getProperty("os.name", "").toLowerCase();
    if (os.contains("mac")) {
      c.add("/System/Library/Frameworks/OpenCL.framework/Versions/Current/OpenCL");
      c.add("libOpenCL.dylib");
    } else if (os.contains("win")) {
      c.add("OpenCL.dll");
    } else {
      c.add("libOpenCL.so.1");
      c.add("libOpenCL.so");
      for (String dir : new String[] {"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64",
          "/usr/lib", "/usr/local/lib", "/opt/rocm/lib", "/usr/local/cuda/lib64"}) {
        c.add(dir + "/libOpenCL.so.1");
      }
    }
    return c;
  }
}
