package dev.nodal.cli;

import dev.nodal.graph.AttributeSchema;
import dev.nodal.graph.OpType;
import dev.nodal.ops.OpCatalogue;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

@Command(name = "ops", description = "Lists every node type a graph file may hold, with its attributes: type, "
    + "allowed values and default.")
final class OpsCommand implements Callable<Integer> {
  @Override
  public Integer call() {
    for (OpCatalogue.Entry e : OpCatalogue.entries()) print(e.kind(), e.type().getSimpleName(), e.schema());
    Map<String, OpType> user = OpCatalogue.userTypes();
    for (OpType t : user.values()) print(t.kind(), t.getClass().getName() + " (of one's own)", t.schema());
    return 0;
  }

  private static void print(String kind, String type, AttributeSchema schema) {
    System.out.println(kind + "  " + type);
    if (schema == null) {
      System.out.println("    (attributes checked by the type itself)");
      return;
    }
    for (String line : schema.describe()) System.out.println("    " + line);
  }
}
