package dev.nodal.backend;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Param;
import dev.nodal.testkit.Models;
import java.util.Map;

/**
 * The body of a child JVM for {@link MisuseTest}: opens {@code args[0]} ({@code cpu} or
 * {@code opencl}), commits the misuse {@code args[1]}, and prints the message of the exception it
 * gets, exiting 0; exits 3 when nothing was refused. A crash of the JVM shows as a death by signal.
 */
public final class Misuse {
  private Misuse() {}

  static final Map<String, String> EXPECTED = Map.of(
      "close-twice", "closed twice without error",
      "use-after-close", "this session is closed",
      "update-after-close", "this session is closed",
      "session-after-backend-close", "this session is closed",
      "compile-after-close", " is closed",
      "huge-batch", "compile for a smaller batch (maxBatch, --batch-size)",
      "forward-without-inputs", "input 'x' has not been set",
      "nan-param", "is not finite",
      "null-input", "input is null");

  public static void main(String[] args) {
    Graph g = Models.mlp(1, 3, 4, 2);
    Backend b = Backends.open(args[0]);
    try {
      switch (args[1]) {
        case "close-twice" -> {
          Session s = b.compile(g, 2);
          s.close();
          s.close();
          b.close();
          b.close();
          System.out.println("closed twice without error");
          System.exit(0);
        }
        case "use-after-close" -> {
          Session s = b.compile(g, 2);
          s.close();
          s.setInput((Input) g.node("x"), new float[3]);
        }
        case "update-after-close" -> {
          Session s = b.compile(g, 2);
          s.setOptimizer(new dev.nodal.optim.Sgd(0.1f));
          s.close();
          s.update();
        }
        case "session-after-backend-close" -> {
          Session s = b.compile(g, 2);
          b.close();
          s.forward();
        }
        case "compile-after-close" -> {
          b.close();
          b.compile(g, 2);
        }
        case "huge-batch" -> b.compile(Models.mlp(1, 784, 8, 10), 100_000_000);
        case "over-device-allocation" -> { // an input one batch larger than the device allocates at once
          long max = ((dev.nodal.backend.opencl.OpenClBackend) b).device().maxAllocation();
          b.compile(Models.mlp(1, 1024, 8, 10), (int) Math.min(Integer.MAX_VALUE / 1024 - 16, max / 4096 + 1));
        }
        case "forward-without-inputs" -> b.compile(g, 2).forward();
        case "nan-param" -> b.compile(g, 2).setParam((Param) g.node("fc2.b"), new float[] {0, Float.NaN});
        case "null-input" -> b.compile(g, 2).setInput(null, new float[3]);
        default -> throw new IllegalArgumentException(args[1]);
      }
    } catch (RuntimeException e) {
      System.out.println(e.getClass().getSimpleName() + ": " + e.getMessage());
      System.exit(0);
    }
    System.out.println("not refused");
    System.exit(3);
  }
}
