package dev.nodal.backend;

import dev.nodal.graph.Graph;
import java.util.ArrayList;
import java.util.List;

/**
 * What every backend does alike: refuses work once closed, and closes the sessions it compiled
 * when it is closed itself, so that no session outlives the resources it runs on.
 */
public abstract class BackendBase implements Backend {
  private final List<SessionBase> open = new ArrayList<>();
  private boolean closed;
  private int compiled;

  @Override
  public final synchronized Session compile(Graph graph, CompileOptions options) {
    if (closed) throw new IllegalStateException("backend " + name() + " is closed");
    if (graph == null || options == null) throw new IllegalArgumentException((graph == null ? "graph" : "options") + " is null");
    SessionBase s = newSession(graph, options);
    s.onRelease = () -> forget(s);
    s.label = "session #" + ++compiled + " on " + name();
    open.add(s);
    return s;
  }

  /** A new session of {@code graph} on this backend. */
  protected abstract SessionBase newSession(Graph graph, CompileOptions options);

  private synchronized void forget(SessionBase s) {
    open.remove(s);
  }

  /**
   * Closes every session still open, then frees the backend; a second call does nothing. Refused,
   * with the backend left open, while another thread is inside a call of one of its sessions.
   */
  @Override
  public final void close() {
    List<SessionBase> sessions;
    synchronized (this) {
      if (closed) return;
      closed = true;
      sessions = List.copyOf(open);
    }
    try {
      for (SessionBase s : sessions) s.close();
    } catch (IllegalStateException inUse) { // another thread is inside a call: its device memory must stay
      synchronized (this) {
        closed = false;
      }
      throw inUse;
    }
    release();
  }

  /** Frees what the backend holds; called once, after its sessions are closed. */
  protected abstract void release();
}
