package dev.nodal.cli;

import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Prints bytes as UTF-8 text as they come, whatever the platform's encoding: a character is
 * printed (and flushed) once its bytes are complete, an incomplete sequence is held until the
 * next bytes finish it, and bytes that are no UTF-8 print as U+FFFD.
 */
final class Utf8Output {
  private final PrintStream out;
  private final CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
      .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
  /** The bytes of a character not yet complete; UTF-8 has at most four. */
  private final ByteBuffer pending = ByteBuffer.allocate(4);
  private final CharBuffer chars = CharBuffer.allocate(16);

  Utf8Output(PrintStream out) {
    this.out = out;
  }

  /** Prints what byte {@code b} completes. */
  void write(int b) {
    pending.put((byte) b);
    decode(false);
  }

  /** Prints every byte of {@code bytes}. */
  void write(byte[] bytes) {
    for (byte b : bytes) write(b);
  }

  /** Prints what is held as U+FFFD: the text ended inside a character. */
  void finish() {
    decode(true);
    decoder.flush(chars);
    print();
    decoder.reset();
  }

  private void decode(boolean end) {
    pending.flip();
    decoder.decode(pending, chars, end);
    pending.compact();
    print();
  }

  private void print() {
    chars.flip();
    if (chars.hasRemaining()) {
      byte[] utf8 = chars.toString().getBytes(StandardCharsets.UTF_8);
      out.write(utf8, 0, utf8.length);
      out.flush();
    }
    chars.clear();
  }
}
