package dev.nodal.cli;

import dev.nodal.io.Checkpoint;
import dev.nodal.train.Generator;
import dev.nodal.train.Sampler;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "generate", description = {
    "Writes text with a gpt model trained by 'nodal train --model gpt': prints the prompt, then each byte the "
        + "model draws as it comes, and a final newline; on stderr, the speed.",
    "Runs on the CPU with a key/value cache: each new byte costs one position's work, not a pass over the prefix. "
        + "The model sees at most its context (64 bytes in train's preset): a longer prompt is cut to its last "
        + "bytes, with a notice on stderr, and once the text fills the window, the window slides to its last half. "
        + "An empty prompt starts the model after a newline. The output is UTF-8; bytes that are no UTF-8 print as "
        + "U+FFFD.",
    "One seed gives one text (for the same checkpoint, prompt and settings)."})
final class GenerateCommand implements Callable<Integer> {
  @Option(names = "--checkpoint", required = true, paramLabel = "DIR",
      description = "A run folder of a gpt model or its checkpoint/ folder.")
  Path checkpoint;

  @Option(names = "--prompt", defaultValue = "", paramLabel = "TEXT",
      description = "The text to continue (default: none, the model starts after a newline).")
  String prompt;

  @Option(names = "--tokens", defaultValue = "200", paramLabel = "N",
      description = "Bytes to write, at least 1 (default ${DEFAULT-VALUE}).")
  int tokens;

  @Option(names = "--temperature", defaultValue = "0.8", paramLabel = "T",
      description = "Divides the logits before the softmax: 0 is greedy (always the most likely byte, the seed "
          + "unused), small values come close to it, larger ones write wilder text (default ${DEFAULT-VALUE}).")
  double temperature;

  @Option(names = "--top-k", defaultValue = "0", paramLabel = "K",
      description = "Draw only among the K most likely bytes; 0 for all (default ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "Seed of the draws (default ${DEFAULT-VALUE}).")
  long seed;

  @Override
  public Integer call() throws Exception {
    if (tokens < 1) throw new IllegalArgumentException("--tokens must be at least 1, got " + tokens);
    if (!(temperature >= 0 && temperature < Double.POSITIVE_INFINITY)) {
      throw new IllegalArgumentException("--temperature must be 0 (greedy) or more, got " + temperature);
    }
    if (topK < 0) throw new IllegalArgumentException("--top-k must be 0 (every byte) or more, got " + topK);
    Generator generator = Generator.of(Checkpoint.load(checkpoint));
    byte[] start = prompt.getBytes(StandardCharsets.UTF_8);
    int context = generator.model().context();
    if (start.length > context) {
      System.err.printf(Locale.ROOT, "nodal generate: the prompt has %d bytes, more than the model's context of %d; "
          + "the model sees its last %d bytes only%n", start.length, context, context);
    }
    Utf8Output out = new Utf8Output(System.out);
    out.write(start);
    long began = System.nanoTime();
    generator.generate(start, tokens, new Sampler(temperature, topK, seed), out::write);
    double seconds = (System.nanoTime() - began) / 1e9;
    out.finish();
    System.out.println();
    System.out.flush();
    System.err.printf(Locale.ROOT, "%d bytes in %.2f s (%.0f bytes/s), %s%n", tokens, seconds, tokens / seconds,
        generator.model());
    return 0;
  }
}
