package dev.nodal.data;

import java.io.IOException;

/** Data that cannot be used as described; the message names the file or place involved. */
public class DataException extends IOException {
  public DataException(String message) {
    super(message);
  }

  public DataException(String message, Throwable cause) {
    super(message, cause);
  }
}
