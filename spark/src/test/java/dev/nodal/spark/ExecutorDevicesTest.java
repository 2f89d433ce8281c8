package dev.nodal.spark;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.nodal.backend.opencl.OpenCl;
import dev.nodal.data.Dataset;
import dev.nodal.data.FashionMnist;
import dev.nodal.devices.NodalOptions;
import dev.nodal.graph.Graph;
import dev.nodal.io.TrainerSettings;
import dev.nodal.optim.Sgd;
import dev.nodal.train.ModelZoo;
import java.nio.file.Path;
import java.util.List;
import org.apache.spark.SparkConf;
import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.api.java.JavaSparkContext;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The executors' sessions on an OpenCL device (PoCL here), named by a selector: the run matches the CPU's to float tolerance, and
 * the tasks' replicas agree bit for bit (the trainer compares their digests after each epoch).
 */
class ExecutorDevicesTest {
  private static final Path SUBSET = StandaloneClusterIT.SUBSET;
  @TempDir Path dir;

  /** Skips without OpenCL, unless NODAL_REQUIRE_OPENCL=1 (CI's first pass), which fails instead. */
  static void requireOpenCl() {
    OpenCl.Probe probe = OpenCl.probe(NodalOptions.fromEnvironment().openCl());
    if (probe.usable() && !probe.devices().isEmpty()) return;
    String why = "no usable OpenCL device: " + probe.error();
    if ("1".equals(System.getenv("NODAL_REQUIRE_OPENCL"))) throw new AssertionError("NODAL_REQUIRE_OPENCL=1 and " + why);
    Assumptions.abort(why);
  }

  static SparkTrainer.Result train(JavaSparkContext sc, String device, Path out) throws Exception {
    Dataset train = FashionMnist.load(SUBSET).train();
    JavaRDD<Example> rows = Partitions.of(sc, train, 2);
    Graph graph = ModelZoo.build("mlp", 7, train.featureSize(), FashionMnist.CLASSES);
    TrainerSettings settings = TrainerSettings.builder().epochs(1).batchSize(100).seed(7)
        .optimizer(Sgd.builder().learningRate(0.05f).momentum(0.9f).spec()).build();
    return SparkTrainer.train(rows, graph, settings, out, SparkTrainer.Options.NONE.withDevice(device));
  }

  static void assertClose(List<Float> expected, List<Float> actual, String what) {
    assertEquals(expected.size(), actual.size(), what);
    for (int i = 0; i < expected.size(); i++) {
      assertEquals(expected.get(i), actual.get(i), 2e-3 * Math.abs(expected.get(i)), what + ", step " + i);
    }
  }

  @Test
  void tasksTrainOnANamedOpenClDeviceAsOnTheCpu() throws Exception {
    requireOpenCl();
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("devices")
        .set("spark.ui.enabled", "false"))) {
      SparkTrainer.Result cpu = train(sc, "cpu", dir.resolve("cpu")), opencl = train(sc, "opencl", dir.resolve("opencl"));
      assertClose(cpu.losses(), opencl.losses(), "opencl");
      assertEquals(List.of("cpu", "cpu"), cpu.devices());
      assertEquals(2, opencl.devices().size());
      assertTrue(opencl.devices().stream().allMatch(d -> d.startsWith("opencl:0:0")), opencl.devices().toString());
    }
  }

  /** {@code gpu} without Spark's GPU scheduling: the task fails saying what to set (GpuSchedulingIT runs it with). */
  @Test
  void aTaskWithoutAnAssignedGpuSaysWhatToSet() throws Exception {
    try (JavaSparkContext sc = new JavaSparkContext(new SparkConf().setMaster("local[2]").setAppName("no-gpus")
        .set("spark.ui.enabled", "false"))) {
      Exception e = assertThrows(Exception.class, () -> train(sc, "gpu", dir.resolve("none")));
      assertTrue(String.valueOf(e.getMessage()).contains("--device gpu: Spark assigned this task no GPU; set "
          + "spark.task.resource.gpu.amount"), e.getMessage());
    }
  }

  @Test
  void aBadDeviceIsRefusedBeforeAnyTask() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SparkTrainer.Options.NONE.withDevice("tpu"));
    assertTrue(e.getMessage().startsWith("unknown device 'tpu'"), e.getMessage());
  }
}
