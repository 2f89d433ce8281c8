package dev.nodal.spark;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.spark.SparkConf;

/**
 * A Spark standalone cluster on 127.0.0.1 from the Spark jars of this build's class path: a
 * master and one-core workers, each its own JVM, as {@code start-master.sh} and
 * {@code start-worker.sh} would start them. A Spark distribution is a folder with a
 * {@code RELEASE} file and {@code jars/}; the workers launch executors from it, so this one
 * holds links to the class path's jars (Nodal's own come with the job, in {@code spark.jars}).
 */
final class StandaloneCluster implements AutoCloseable {
  /** The module openings Spark 4 needs on Java 17, as its launcher passes them. */
  static final List<String> OPENS = List.of("java.lang", "java.lang.invoke", "java.lang.reflect", "java.io", "java.net",
      "java.nio", "java.util", "java.util.concurrent", "java.util.concurrent.atomic", "jdk.internal.ref", "sun.nio.ch",
      "sun.nio.cs", "sun.security.action", "sun.util.calendar").stream().map(p -> "--add-opens=java.base/" + p
      + "=ALL-UNNAMED").toList();

  private final List<Process> processes = new ArrayList<>();
  final Path folder;
  final String master;

  private StandaloneCluster(Path folder, String master) {
    this.folder = folder;
    this.master = master;
    Runtime.getRuntime().addShutdownHook(hook);
  }

  /** Starts a master and {@code workers} workers of one core in {@code folder}; returns once all have registered. */
  static StandaloneCluster start(Path folder, int workers) throws IOException, InterruptedException {
    return start(folder, workers, w -> List.of());
  }

  /** As {@link #start(Path, int)}, worker {@code w} (1-based) started with the JVM options {@code options.apply(w)}. */
  static StandaloneCluster start(Path folder, int workers, java.util.function.IntFunction<List<String>> options)
      throws IOException, InterruptedException {
    Path home = folder.resolve("spark-home"), jars = home.resolve("jars");
    Files.createDirectories(jars);
    Files.writeString(home.resolve("RELEASE"), "Spark from Maven's jars, for tests\n");
    List<String> classPath = new ArrayList<>();
    String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    Path own = Path.of("target").toAbsolutePath();
    for (String entry : full.split(File.pathSeparator)) {
      Path p = Path.of(entry).toAbsolutePath();
      // Spark and what it needs; not Nodal itself (the core, this module), which each job brings.
      if (!entry.endsWith(".jar") || p.startsWith(own) || p.getFileName().toString().matches("nodal(-spark)?-\\d.*")) {
        continue;
      }
      Path link = jars.resolve(p.getFileName());
      if (Files.exists(link, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        throw new IllegalStateException("two jars named " + p.getFileName() + " on the class path: " + p + " and "
            + Files.readSymbolicLink(link));
      }
      Files.createSymbolicLink(link, p);
      classPath.add(p.toAbsolutePath().toString());
    }
    String cp = String.join(File.pathSeparator, classPath);
    StandaloneCluster cluster = null;
    Process master = launch(folder.resolve("master.log"), home, cp, "org.apache.spark.deploy.master.Master", "--host",
        "127.0.0.1", "--port", "0", "--webui-port", "0");
    try {
      Matcher m = await(folder.resolve("master.log"), Pattern.compile("Starting Spark master at (spark://\\S+)"), master);
      cluster = new StandaloneCluster(folder, m.group(1));
      cluster.processes.add(master);
      for (int w = 1; w <= workers; w++) {
        Path work = Files.createDirectories(folder.resolve("work" + w));
        Process worker = launch(folder.resolve("worker" + w + ".log"), home, cp, options.apply(w),
            "org.apache.spark.deploy.worker.Worker",
            cluster.master, "--host", "127.0.0.1", "--cores", "1", "--memory", "1g", "--webui-port", "0", "--work-dir",
            work.toString());
        cluster.processes.add(worker);
      }
      for (int w = 1; w <= workers; w++) {
        await(folder.resolve("worker" + w + ".log"), Pattern.compile("Successfully registered with master"),
            cluster.processes.get(w));
      }
      return cluster;
    } catch (IOException | RuntimeException | InterruptedException | AssertionError e) {
      if (cluster != null) cluster.close();
      else master.destroyForcibly();
      throw e;
    }
  }

  private static Process launch(Path log, Path home, String cp, String main, String... args) throws IOException {
    return launch(log, home, cp, List.of(), main, args);
  }

  private static Process launch(Path log, Path home, String cp, List<String> options, String main, String... args)
      throws IOException {
    List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
    command.addAll(OPENS);
    command.addAll(options);
    command.addAll(List.of("-Xmx512m", "-cp", cp, main));
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("SPARK_HOME", home.toString());
    pb.environment().put("SPARK_SCALA_VERSION", "2.13");
    return pb.start();
  }

  /** The first match of {@code line} in the log, within a minute; fails with the log when the process dies first. */
  private static Matcher await(Path log, Pattern line, Process p) throws IOException, InterruptedException {
    long deadline = System.nanoTime() + 60_000_000_000L;
    while (System.nanoTime() < deadline) {
      String text = Files.exists(log) ? Files.readString(log) : "";
      Matcher m = line.matcher(text);
      if (m.find()) return m;
      if (!p.isAlive()) throw new AssertionError(log + ": the process ended (" + p.exitValue() + "):\n" + text);
      Thread.sleep(100);
    }
    throw new AssertionError(log + ": no '" + line + "' within a minute:\n" + Files.readString(log));
  }

  /**
   * A driver's configuration for this cluster, named {@code app}: the packaged
   * {@code nodal-spark-…-all.jar} shipped to the executors (so it runs after {@code package}),
   * their JVMs opened for Spark and given the Vector API, the driver on 127.0.0.1, and as many
   * cores as there are workers.
   */
  SparkConf driver(String app) throws IOException {
    Path jar;
    try (var files = Files.list(Path.of("target"))) {
      jar = files.filter(f -> f.getFileName().toString().matches("nodal-spark-.*-all\\.jar")).findFirst()
          .orElseThrow(() -> new AssertionError("no target/nodal-spark-*-all.jar: run after package (./mvnw -f spark verify)"));
    }
    return new SparkConf().setMaster(master).setAppName(app).set("spark.ui.enabled", "false")
        .set("spark.driver.host", "127.0.0.1").set("spark.executor.memory", "768m")
        .set("spark.jars", jar.toAbsolutePath().toString())
        .set("spark.executor.extraJavaOptions", String.join(" ", OPENS) + " --add-modules=jdk.incubator.vector")
        .set("spark.cores.max", String.valueOf(processes.size() - 1));
  }

  /** Kills worker {@code w} (1-based) as {@code kill -9} would; its executors end when they notice. */
  void killWorker(int w) {
    processes.get(w).destroyForcibly();
  }

  /**
   * Kills ({@code kill -9}) the executor JVMs that worker {@code w} (1-based) runs; returns how
   * many. The worker stays, and starts new executors for the application.
   */
  int killExecutors(int w) {
    List<ProcessHandle> executors = processes.get(w).descendants().filter(h -> h.info().commandLine()
        .map(c -> c.contains("CoarseGrainedExecutorBackend")).orElse(false)).toList();
    executors.forEach(ProcessHandle::destroyForcibly);
    return executors.size();
  }

  /** Everything the executors wrote to their stderr so far (each executor's folder under the workers' work folders). */
  String executorLogs() throws IOException {
    StringBuilder all = new StringBuilder();
    try (var files = Files.walk(folder)) {
      for (Path f : files.filter(f -> f.getFileName().toString().equals("stderr")).toList()) {
        all.append(Files.readString(f));
      }
    }
    return all.toString();
  }

  /** Workers first (each ends its executors), then the master; whatever is left is killed. */
  @Override
  public void close() {
    List<ProcessHandle> children = new ArrayList<>();
    for (Process p : processes) p.descendants().forEach(children::add);
    for (int i = processes.size() - 1; i >= 0; i--) processes.get(i).destroy();
    for (Process p : processes) {
      try {
        if (!p.waitFor(20, java.util.concurrent.TimeUnit.SECONDS)) p.destroyForcibly().waitFor();
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        p.destroyForcibly();
      }
    }
    children.forEach(ProcessHandle::destroyForcibly);
    Runtime.getRuntime().removeShutdownHook(hook);
  }

  /** Kills the cluster's JVMs when the test JVM ends without closing it. */
  private final Thread hook = new Thread(() -> {
    for (Process p : processes) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }, "standalone-cluster-reaper");
}
