package dev.nodal.backend;

import java.util.concurrent.atomic.AtomicReference;

/**
 * Lets one thread at a time into the calls of a session. A call from another thread while one is
 * inside is refused with an {@link IllegalStateException} that names the session and both
 * threads. Between calls the session may pass from one thread to another; entering and leaving
 * order the memory of the two. Calls nest: a call that makes other calls of the same session
 * ({@code trainStep()} calls {@code forward()}) enters again on the same thread.
 *
 * <p>Every guarded call is {@code guard.enter("forward()"); try { ... } finally { guard.leave(); }}.
 */
public final class ThreadGuard {
  private final Object owner;
  /** The thread inside a call, or null between calls. */
  private final AtomicReference<Thread> user = new AtomicReference<>();
  /** How deep the user thread is in calls. */
  private int depth;

  /** A guard for the calls of {@code owner}, whose {@code toString()} names it in refusals. */
  public ThreadGuard(Object owner) {
    this.owner = owner;
  }

  /**
   * The calling thread enters {@code call} (as refusals name it, {@code "forward()"} say):
   * refused while another thread is inside a call.
   */
  public void enter(String call) {
    Thread me = Thread.currentThread();
    while (true) {
      Thread in = user.get();
      if (in == me) {
        depth++;
        return;
      }
      if (in == null) {
        if (user.compareAndSet(null, me)) {
          depth = 1;
          return;
        }
        continue; // another thread entered just now: name it
      }
      throw new IllegalStateException(owner + " is in use by thread " + describe(in) + ", so " + call + " from thread "
          + describe(me) + " is refused: a session serves one thread at a time (pass it to another thread between "
          + "calls, or give each thread a session of its own)");
    }
  }

  /** The calling thread leaves the call it entered; the outermost leave frees the session for any thread. */
  public void leave() {
    if (--depth == 0) user.set(null);
  }

  private static String describe(Thread t) {
    return "'" + t.getName() + "' (id " + t.getId() + ")";
  }
}
