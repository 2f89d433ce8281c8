package dev.nodal.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Spark's GPU scheduling on a standalone cluster of two workers, each offering one "GPU" through a
 * discovery script: worker 1 the address {@code 0} (the host's first OpenCL device, PoCL's CPU
 * device here, as it has no GPU), worker 2 the address {@code 0:0} (OpenCL platform 0, device 0).
 * Each task of {@code --device gpu} opens the device Spark assigned it, on an executor JVM of its
 * own; the run matches the CPU's to float tolerance and the replicas agree bit for bit.
 */
class GpuSchedulingIT {
  @TempDir Path dir;

  @Test
  void eachTaskOpensTheGpuSparkAssignedIt() throws Exception {
    // OpenCL is probed on the executors alone: this JVM runs without it (and without signal chaining).
    org.junit.jupiter.api.Assumptions.assumeTrue("1".equals(System.getenv("NODAL_REQUIRE_OPENCL")),
        "runs where OpenCL is required (NODAL_REQUIRE_OPENCL=1, as in CI's first pass)");
    SparkTrainer.Result cpu;
    try (JavaSparkContext sc = new JavaSparkContext(new org.apache.spark.SparkConf().setMaster("local[2]")
        .setAppName("cpu").set("spark.ui.enabled", "false"))) {
      cpu = ExecutorDevicesTest.train(sc, "cpu", dir.resolve("cpu"));
    }
    String[] addresses = {"0", "0:0"};
    try (StandaloneCluster cluster = StandaloneCluster.start(dir.resolve("cluster"), 2, w -> {
      Path script = dir.resolve("gpu" + w + ".sh");
      try {
        Files.writeString(script, "#!/bin/sh\necho '{\"name\": \"gpu\", \"addresses\": [\"" + addresses[w - 1] + "\"]}'\n");
      } catch (java.io.IOException e) {
        throw new java.io.UncheckedIOException(e);
      }
      script.toFile().setExecutable(true);
      return List.of("-Dspark.worker.resource.gpu.amount=1", "-Dspark.worker.resource.gpu.discoveryScript=" + script);
    })) {
      String jsig = Path.of(System.getProperty("java.home"), "lib", "libjsig.so").toString();
      try (JavaSparkContext sc = new JavaSparkContext(cluster.driver("gpus")
          .set("spark.executor.resource.gpu.amount", "1").set("spark.task.resource.gpu.amount", "1")
          .set("spark.executorEnv.NODAL_DISABLE_OPENCL", "0") // the test JVM's setting, which the workers inherit
          .set("spark.executorEnv.LD_PRELOAD", Files.exists(Path.of(jsig)) ? jsig : ""))) {
        SparkTrainer.Result gpu = ExecutorDevicesTest.train(sc, "gpu", dir.resolve("gpu"));
        ExecutorDevicesTest.assertClose(cpu.losses(), gpu.losses(), "gpu");
        org.junit.jupiter.api.Assertions.assertTrue(gpu.devices().size() == 2
            && gpu.devices().stream().allMatch(d -> d.startsWith("opencl:0:0")), gpu.devices().toString());
        String logs = cluster.executorLogs();
        org.junit.jupiter.api.Assertions.assertTrue(logs.contains("Spark's GPU 0 is taken as OpenCL device"), logs);
        System.out.printf("--device gpu on 2 executors (addresses 0 and 0:0): %d steps within 2e-3 of the CPU's%n",
            gpu.losses().size());
      }
    }
  }
}
