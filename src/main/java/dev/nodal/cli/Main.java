package dev.nodal.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code nodal} command line. */
@Command(name = "nodal", mixinStandardHelpOptions = true, version = "nodal 0.1.0",
    description = "Deep learning on the JVM: graphs of building blocks on OpenCL devices or the CPU.",
    subcommands = {DevicesCommand.class, NativeCheckCommand.class, ParityCommand.class, BenchCommand.class})
public final class Main {
  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns the exit status (tests call this instead of main). */
  public static int run(String... args) {
    return new CommandLine(new Main()).execute(args);
  }
}
