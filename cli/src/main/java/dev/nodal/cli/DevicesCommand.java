package dev.nodal.cli;

import dev.nodal.backend.opencl.DeviceInfo;
import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.devices.Backends;
import dev.nodal.tensor.CpuContext;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

@Command(name = "devices", description = "Lists the CPU backend, the backend providers on the class path, and every "
    + "OpenCL platform and device.")
final class DevicesCommand implements Callable<Integer> {
  /** The run's settings, read once ({@link Main#options}, {@link Main#data}). */
  @ParentCommand Main main;

  @Override
  public Integer call() {
    System.out.println("cpu            pure-Java CPU backend (" + Runtime.getRuntime().availableProcessors() + " cores)");
    System.out.println("               products: " + new CpuContext(main.options.cpu()).kernel());
    Backends.providers().forEach((name, p) -> System.out.printf(java.util.Locale.ROOT, "%-14s %s (a backend provider)%n",
        name, p.description()));
    OpenCl.Probe probe = OpenCl.probe(main.options.openCl());
    if (probe.error() != null) {
      System.out.println("OpenCL: not usable: " + probe.error());
      System.out.println("  fix: " + probe.fix());
      return 0;
    }
    System.out.println("OpenCL loader: " + probe.loader());
    for (DeviceInfo d : probe.devices()) {
      System.out.println(d.describe());
      System.out.println("               platform: " + d.platformName() + ", " + d.platformVersion());
    }
    return 0;
  }
}
