package dev.nodal.parallel;

/** A collective operation failed: a peer timed out, closed its connection, or broke the protocol. */
public final class CollectiveException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public CollectiveException(String message) {
    super(message);
  }

  public CollectiveException(String message, Throwable cause) {
    super(message, cause);
  }
}
