package dev.nodal.backend;

import dev.nodal.devices.Backends;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.optim.Sgd;
import dev.nodal.testkit.Models;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The body of a child JVM for {@link SharedSessionTest}: two threads, "hammer-1" and "hammer-2",
 * drive one session of {@code args[0]} ({@code cpu} or {@code opencl}) at once with setInput,
 * forward and trainStep, for at least {@code args[1]} rounds each and until some calls have
 * collided. A call is either served or refused with an {@link IllegalStateException} that names
 * the session and both threads. Prints one line of counts and exits 0; exits 4 when any call
 * failed otherwise (the first such failure is printed). A crash shows as a death by signal.
 */
public final class SharedSession {
  private SharedSession() {}

  static final String COUNTS = "counts:";

  public static void main(String[] args) throws Exception {
    int rounds = Integer.parseInt(args[1]);
    Graph g = Models.mlp(1, 3, 4, 2);
    Input x = (Input) g.node("x");
    Input y = (Input) g.node("y");
    Backend b = Backends.open(args[0]);
    Session s = b.compile(g, 2);
    s.setOptimizer(new Sgd(0.01f));
    s.setInput(x, new float[] {1, 2, 3, 4, 5, 6});
    s.setInput(y, new float[] {0, 1});
    AtomicInteger served = new AtomicInteger(), refused = new AtomicInteger(), other = new AtomicInteger();
    AtomicReference<String> firstOther = new AtomicReference<>();
    AtomicReference<String> sampleRefusal = new AtomicReference<>();
    CyclicBarrier start = new CyclicBarrier(2);
    long deadline = System.nanoTime() + 60_000_000_000L;
    Runnable hammer = () -> {
      try {
        start.await();
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
      String me = Thread.currentThread().getName(), peer = me.equals("hammer-1") ? "hammer-2" : "hammer-1";
      for (int i = 0; i < rounds || (refused.get() < 20 && System.nanoTime() < deadline); i++) {
        for (int call = 0; call < 4; call++) {
          try {
            switch (call) {
              case 0 -> s.setInput(x, new float[] {i % 7, 1, 2, 3, 4, 5});
              case 1 -> s.setInput(y, new float[] {i % 2, 1});
              case 2 -> s.forward();
              default -> s.trainStep();
            }
            served.incrementAndGet();
          } catch (IllegalStateException e) {
            String m = String.valueOf(e.getMessage());
            if (m.contains("session #") && m.contains("'" + me + "'") && m.contains("'" + peer + "'")) {
              refused.incrementAndGet();
              sampleRefusal.compareAndSet(null, m);
            } else {
              other.incrementAndGet();
              firstOther.compareAndSet(null, e.toString());
            }
          } catch (RuntimeException e) {
            other.incrementAndGet();
            firstOther.compareAndSet(null, e.toString());
          }
        }
      }
    };
    Thread t1 = new Thread(hammer, "hammer-1"), t2 = new Thread(hammer, "hammer-2");
    t1.start();
    t2.start();
    t1.join();
    t2.join();
    System.out.println("a refusal: " + sampleRefusal.get());
    System.out.printf("%s served=%d refused=%d other=%d%n", COUNTS, served.get(), refused.get(), other.get());
    if (other.get() > 0) {
      System.out.println("first other failure: " + firstOther.get());
      System.exit(4);
    }
    s.close();
    b.close();
    System.exit(0);
  }
}
