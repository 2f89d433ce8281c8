package dev.nodal.cli;

import dev.nodal.data.DataOptions;
import dev.nodal.devices.NodalOptions;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.HelpCommand;

/** The {@code nodal} command line. */
@Command(name = "nodal", mixinStandardHelpOptions = true, version = "nodal 0.1.0",
    description = "Deep learning on the JVM: graphs of building blocks on OpenCL devices or the CPU.",
    subcommands = {TrainCommand.class, EvalCommand.class, GenerateCommand.class, DevicesCommand.class, OpsCommand.class,
        ParityCommand.class, GraphCommand.class,
        BenchCommand.class, TuneCommand.class, PlanCommand.class, NativeCheckCommand.class, HelpCommand.class})
public final class Main {
  /** The settings of the environment ({@code NODAL_*} and {@code -Dnodal.*}), read once per run. */
  final NodalOptions options;
  /** Where the data set is looked for ({@code NODAL_DATA}), read once per run. */
  final DataOptions data;

  Main(NodalOptions options, DataOptions data) {
    this.options = options;
    this.data = data;
  }

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /**
   * Runs the command line and returns the exit status (tests call this instead of main). Expected
   * failures (bad data, arguments, devices) print one line and return 1; anything else prints one
   * line too and returns 2, with the stack trace only when {@code --debug} is given.
   */
  public static int run(String... args) {
    boolean debug = java.util.Arrays.asList(args).contains("--debug");
    String[] rest = java.util.Arrays.stream(args).filter(a -> !a.equals("--debug")).toArray(String[]::new);
    System.setProperty("java.awt.headless", "true");
    Main main;
    try {
      main = new Main(NodalOptions.fromEnvironment(), DataOptions.fromEnvironment());
    } catch (IllegalArgumentException e) { // a malformed setting: said as every expected failure is
      if (debug) e.printStackTrace();
      System.err.println("nodal: " + e.getMessage());
      return 1;
    }
    CommandLine cl = new CommandLine(main);
    // --help and -h on every command, not only on the top level.
    cl.getSubcommands().values().forEach(sub -> sub.getCommandSpec().mixinStandardHelpOptions(true));
    // Expected failures (bad data, bad arguments, unusable devices) print one clear line.
    cl.setExecutionExceptionHandler((e, cmd, parsed) -> {
      boolean expected = e instanceof java.io.IOException || e instanceof IllegalArgumentException
          || e instanceof IllegalStateException || e instanceof dev.nodal.graph.GraphException;
      if (debug) e.printStackTrace(cmd.getErr());
      if (expected) {
        cmd.getErr().println("nodal " + cmd.getCommandName() + ": " + e.getMessage());
        return 1;
      }
      cmd.getErr().println("nodal " + cmd.getCommandName() + ": internal error: " + e
          + (debug ? "" : " (run again with --debug for the stack trace, and report it)"));
      return 2;
    });
    return cl.execute(rest);
  }
}
