package dev.nodal.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "native-check", description = "Diagnoses the OpenCL stack: loader, drivers, devices, kernel builds, parity.")
final class NativeCheckCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    return new NativeCheck(System.out).run();
  }
}
