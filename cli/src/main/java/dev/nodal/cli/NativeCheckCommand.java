package dev.nodal.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "native-check", description = "Diagnoses the OpenCL stack: loader, drivers, devices, kernel builds, parity.")
final class NativeCheckCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Override
  public Integer call() {
    return new NativeCheck(System.out, main.options).run();
  }
}
