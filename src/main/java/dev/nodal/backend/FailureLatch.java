package dev.nodal.backend;

import dev.nodal.graph.GraphException;
import java.util.function.Supplier;

/**
 * Remembers that work of a session failed, after which its memory cannot be trusted: once
 * tripped, {@link #requireSound()} refuses every call, naming the first failure. A
 * {@link GraphException} (an argument refused, or a value found not finite) leaves the session
 * sound: {@link #trip} lets it pass without tripping.
 */
public final class FailureLatch {
  /** Why the session failed, or null while it is sound. */
  private String failure;

  /** Trips the latch with {@code e}, unless it is a {@link GraphException}; returns {@code e} to throw. */
  public RuntimeException trip(RuntimeException e) {
    return e instanceof GraphException ? e : tripAlways(e);
  }

  /**
   * Trips the latch with {@code e} whatever it is, for work that leaves the session unusable even
   * when it ends in a refusal (a data-parallel step whose replicas fell out of step, say); returns
   * {@code e} to throw.
   */
  public RuntimeException tripAlways(RuntimeException e) {
    if (failure == null) failure = String.valueOf(e.getMessage());
    return e;
  }

  /** Runs {@code call} (a read or write of device memory), tripping the latch when it throws. */
  public <T> T call(Supplier<T> call) {
    try {
      return call.get();
    } catch (RuntimeException e) {
      throw trip(e);
    }
  }

  /** Runs {@code work}, tripping the latch when it throws. */
  public void run(Runnable work) {
    try {
      work.run();
    } catch (RuntimeException e) {
      throw trip(e);
    }
  }

  /** True once a failure tripped the latch. */
  public boolean tripped() {
    return failure != null;
  }

  /** Refuses with an {@link IllegalStateException} naming the failure once the latch is tripped. */
  public void requireSound() {
    if (failure != null) {
      throw new IllegalStateException("this session failed (" + failure + "); close it and compile the graph again");
    }
  }
}
