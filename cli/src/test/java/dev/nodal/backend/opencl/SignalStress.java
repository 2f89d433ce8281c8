package dev.nodal.backend.opencl;

import dev.nodal.backend.Backend;
import dev.nodal.backend.Session;
import dev.nodal.cli.Main;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.testkit.Models;
import dev.nodal.testkit.OpenClTests;
import dev.nodal.optim.Sgd;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The body of a child JVM for {@link SignalChainingTest}.
 *
 * <ul>
 *   <li>{@code opencl MILLIS}: discovers OpenCL, then for MILLIS does what makes the JVM fault on
 *       purpose (see {@link #stress}); then builds kernels, trains a few steps on the suite's
 *       device ({@link OpenClTests#backend()}, {@code $NODAL_TEST_DEVICE}) and does the same again.
 *       Exit 0 when it survives.
 *   <li>{@code cpu-cli}: runs {@code nodal bench gemm --device cpu}, then exits 0 only when no
 *       OpenCL library was mapped into the process.
 * </ul>
 */
public final class SignalStress {
  private SignalStress() {}

  public static void main(String[] args) throws Exception {
    switch (args[0]) {
      case "opencl" -> {
        OpenCl.Probe probe = OpenCl.probe(dev.nodal.devices.NodalOptions.fromEnvironment().openCl());
        if (!probe.usable()) {
          System.out.println("OpenCL not usable: " + probe.error() + ". Fix: " + probe.fix());
          System.exit(3);
        }
        // Discovery alone leaves PoCL's handler installed, and a kernel build may install it
        // again: stress after each.
        int millis = Integer.parseInt(args[1]);
        stress(millis);
        trainOnTheSuitesDevice();
        stress(millis);
        System.out.println("survived");
      }
      case "cpu-cli" -> {
        int rc = Main.run("bench", "gemm", "--device", "cpu", "--size", "64", "--repeats", "1", "--inner", "1");
        boolean mapped = Files.readString(Path.of("/proc/self/maps")).contains("libOpenCL");
        System.out.println("bench exit " + rc + ", libOpenCL mapped: " + mapped);
        System.exit(rc != 0 ? rc : mapped ? 4 : 0);
      }
      default -> throw new IllegalArgumentException(args[0]);
    }
  }

  private static void trainOnTheSuitesDevice() {
    Graph g = Models.mlp(1, 5, 8, 3);
    try (Backend b = OpenClTests.backend(); Session s = b.compile(g, 4)) {
      s.setOptimizer(Sgd.builder().learningRate(0.1f).momentum(0.9f).build());
      for (int i = 0; i < 5; i++) {
        s.setInput((Input) g.node("x"), Models.uniform(20, i));
        s.setInput((Input) g.node("y"), Models.classes(4, 3, i));
        s.trainStep();
      }
    }
  }

  /**
   * For {@code millis}: four threads spin in JIT-compiled loops while this thread allocates and
   * makes the collector stop the world, over and over.
   *
   * <p>Compiled code reaches a safepoint by reading a protected polling page: a deliberate
   * SIGSEGV on every running thread at once. PoCL's LLVM registers its handler with
   * {@code SA_RESETHAND}, so the first delivery resets SIGSEGV to the default action until that
   * handler puts the JVM's back; a second thread faulting within those microseconds kills the
   * process. Hence several threads, warmed up first so that they run compiled code.
   */
  private static void stress(int millis) throws InterruptedException {
    long end = System.nanoTime() + millis * 1_000_000L;
    List<Thread> threads = new ArrayList<>();
    double[] sink = new double[4];
    for (int t = 0; t < sink.length; t++) {
      int id = t;
      Thread thread = new Thread(() -> {
        double x = id;
        while (System.nanoTime() < end) {
          for (int i = 0; i < 10_000; i++) x = x * 0.999 + i;
        }
        sink[id] = x;
      });
      threads.add(thread);
      thread.start();
    }
    Thread.sleep(Math.min(300, millis / 2)); // until the loops are compiled
    List<float[]> garbage = new ArrayList<>();
    while (System.nanoTime() < end) {
      for (int i = 0; i < 100; i++) garbage.add(new float[1024]);
      garbage.clear();
      System.gc();
      Thread.sleep(2);
    }
    for (Thread thread : threads) thread.join();
    System.out.println("stress done: " + (sink[0] + sink[1] + sink[2] + sink[3]));
  }
}
