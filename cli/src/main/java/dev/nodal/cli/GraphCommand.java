package dev.nodal.cli;

import dev.nodal.graph.Apply;
import dev.nodal.graph.Graph;
import dev.nodal.graph.Input;
import dev.nodal.graph.Node;
import dev.nodal.graph.Param;
import dev.nodal.graph.State;
import dev.nodal.io.AtomicFiles;
import dev.nodal.io.Checkpoint;
import dev.nodal.train.ModelZoo;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "graph", description = "Writes a model's DAG as DOT, and as SVG when Graphviz 'dot' is installed.")
final class GraphCommand implements Callable<Integer> {
  @Option(names = "--model", defaultValue = "mlp", description = SharedOptions.MODEL_HELP)
  String model;

  @Option(names = "--checkpoint", description = "Draw the graph of this checkpoint instead.")
  Path checkpoint;

  @Option(names = "--out", description = "DOT file to write (default: graph.dot in the checkpoint's run folder with "
      + "--checkpoint, else runs/<model>-graph.dot).")
  Path out;

  @Override
  public Integer call() throws Exception {
    Checkpoint.Loaded loaded = checkpoint == null ? null : Checkpoint.load(checkpoint);
    Graph g = loaded != null ? loaded.graph() : ModelZoo.build(model, 0, 784, 10);
    if (out == null) {
      out = loaded != null ? loaded.folder().resolveSibling("graph.dot") : Path.of("runs", model + "-graph.dot");
    }
    if (out.toAbsolutePath().getParent() != null) java.nio.file.Files.createDirectories(out.toAbsolutePath().getParent());
    AtomicFiles.write(out, dot(g).getBytes(StandardCharsets.UTF_8));
    System.out.println("wrote " + out);
    Path svg = out.resolveSibling(out.getFileName().toString().replaceFirst("\\.dot$", "") + ".svg");
    try {
      AtomicFiles.checkReplaceable(svg); // dot writes it in place: only where a regular file (or none) is
    } catch (java.io.IOException e) {
      System.out.println("no SVG: " + e.getMessage());
      return 0;
    }
    try {
      Process p = new ProcessBuilder("dot", "-Tsvg", out.toString(), "-o", svg.toString()).inheritIO().start();
      if (p.waitFor(60, TimeUnit.SECONDS) && p.exitValue() == 0) System.out.println("wrote " + svg);
    } catch (java.io.IOException e) {
      System.out.println("no SVG: Graphviz 'dot' is not installed (apt-get install graphviz)");
    }
    return 0;
  }

  /**
   * Static data light blue, parameters orange, states (running statistics) pale green, functions
   * white, edges in the direction data flows.
   */
  static String dot(Graph g) {
    StringBuilder sb = new StringBuilder("digraph nodal {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\"];\n");
    for (Node n : g.nodes()) {
      String fill = n instanceof Input ? "lightblue" : n instanceof Param ? "orange"
          : n instanceof State ? "palegreen" : "white";
      String shape = n instanceof Apply ? "box" : "ellipse";
      sb.append(String.format("  \"%s\" [label=\"%s\\n%s %s\", fillcolor=%s, shape=%s];%n", n.name(), n.name(), n.kind(),
          n.shape(), fill, shape));
    }
    for (Node n : g.nodes()) for (Node in : n.inputs()) sb.append(String.format("  \"%s\" -> \"%s\";%n", in.name(), n.name()));
    return sb.append("}\n").toString();
  }
}
