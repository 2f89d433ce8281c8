package dev.nodal;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.codeUnits;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noFields;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;

import com.tngtech.archunit.base.DescribedPredicate;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaCodeUnit;
import com.tngtech.archunit.core.domain.JavaMember;
import com.tngtech.archunit.core.domain.JavaMethodCall;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.domain.JavaType;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import com.tngtech.archunit.junit.AnalyzeClasses;
import com.tngtech.archunit.junit.ArchTest;
import com.tngtech.archunit.lang.ArchCondition;
import com.tngtech.archunit.lang.ArchRule;
import com.tngtech.archunit.lang.ConditionEvents;
import com.tngtech.archunit.lang.SimpleConditionEvent;
import dev.nodal.graph.Graph;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The library's packages form a one-way stack, bottom to top (the command line, {@code dev.nodal.cli},
 * is a client in its own build, {@code cli/}):
 *
 * <pre>
 * train                     trainer loop, run folders, models
 * parallel                  collectives; data-parallel sessions over several devices
 * io, data                  graph file, safetensors, checkpoints, trainer state; data sets and loaders
 * devices                   choosing a backend from a selector
 * backend.cpu, .opencl      executors (a backend lowers ops, so it may see them)
 * backend                   Backend, Session, compile options, parity
 * plan                      the device-independent step plan: order, memory, launches
 * optim                     optimizers, their specs, schedules
 * ops                       one class per node type
 * graph                     nodes, builder, validation, order; the Op contract
 * tensor                    shapes, CPU tensors, BLAS-like primitives
 * </pre>
 *
 * Everything below {@code backend.opencl} runs without JOCL.
 */
@AnalyzeClasses(packages = "dev.nodal", importOptions = ImportOption.DoNotIncludeTests.class)
class ArchitectureTest {

  /** The API: public and protected members of public classes. */
  private static final DescribedPredicate<JavaMember> API = DescribedPredicate.describe("are members of the API", m ->
      m.getOwner().getModifiers().contains(JavaModifier.PUBLIC)
          && (m.getModifiers().contains(JavaModifier.PUBLIC) || m.getModifiers().contains(JavaModifier.PROTECTED)));

  private static final DescribedPredicate<JavaClass> JACKSON = DescribedPredicate.describe("a Jackson type",
      c -> c.getPackageName().startsWith("com.fasterxml"));

  @ArchTest
  static final ArchRule noPackageCycles = slices().matching("dev.nodal.(**)").should().beFreeOfCycles();

  @ArchTest
  static final ArchRule layersPointDown = layeredArchitecture().consideringOnlyDependenciesInLayers()
      .layer("tensor").definedBy("dev.nodal.tensor..")
      .layer("graph").definedBy("dev.nodal.graph..")
      .layer("ops").definedBy("dev.nodal.ops..")
      .layer("optim").definedBy("dev.nodal.optim..")
      .layer("plan").definedBy("dev.nodal.plan..")
      .layer("backend").definedBy("dev.nodal.backend")
      .layer("cpu").definedBy("dev.nodal.backend.cpu..")
      .layer("opencl").definedBy("dev.nodal.backend.opencl..")
      .layer("devices").definedBy("dev.nodal.devices..")
      .layer("data").definedBy("dev.nodal.data..")
      .layer("io").definedBy("dev.nodal.io..")
      .layer("train").definedBy("dev.nodal.train..")
      .layer("parallel").definedBy("dev.nodal.parallel..")
      .whereLayer("tensor").mayNotAccessAnyLayer()
      .whereLayer("graph").mayOnlyAccessLayers("tensor")
      .whereLayer("ops").mayOnlyAccessLayers("graph", "tensor")
      .whereLayer("optim").mayOnlyAccessLayers("graph", "tensor")
      .whereLayer("plan").mayOnlyAccessLayers("optim", "graph", "tensor")
      .whereLayer("backend").mayOnlyAccessLayers("plan", "optim", "graph", "tensor")
      .whereLayer("cpu").mayOnlyAccessLayers("backend", "plan", "optim", "graph", "tensor")
      .whereLayer("opencl").mayOnlyAccessLayers("backend", "plan", "optim", "ops", "graph", "tensor")
      .whereLayer("devices").mayOnlyAccessLayers("cpu", "opencl", "backend", "plan", "optim", "graph", "tensor")
      .whereLayer("data").mayOnlyAccessLayers("tensor")
      .whereLayer("io").mayOnlyAccessLayers("data", "backend", "plan", "optim", "ops", "graph", "tensor")
      .whereLayer("train").mayOnlyAccessLayers("io", "data", "backend", "plan", "optim", "ops", "graph", "tensor")
      .whereLayer("parallel").mayOnlyAccessLayers("backend", "plan", "optim", "graph", "tensor");

  @ArchTest
  static final ArchRule theCoreNeedsNoJocl = noClasses().that().resideOutsideOfPackage("dev.nodal.backend.opencl..")
      .should().dependOnClassesThat().resideInAPackage("org.jocl..");

  /** A library leaves logging's binding and the command line's libraries to the application. */
  @ArchTest
  static final ArchRule noApplicationLibraries = noClasses().should().dependOnClassesThat()
      .resideInAnyPackage("ch.qos.logback..", "picocli..", "me.tongfei..", "org.knowm..", "dev.nodal.cli..");

  /**
   * Jackson is how {@code io} reads and writes its files, not part of the API: no public or
   * protected method, constructor or field of a public class takes or gives one of its types
   * (checkpoints give a {@code TrainerState}, graph files an {@code OptimizerSpec}), so that users
   * need no Jackson and Nodal may change how it parses.
   */
  @ArchTest
  static final ArchRule noJacksonTypeInAPublicSignature = codeUnits().that(API).should(
      new ArchCondition<JavaCodeUnit>("take or give no Jackson type") {
        @Override
        public void check(JavaCodeUnit unit, ConditionEvents events) {
          List<JavaType> types = new ArrayList<>(unit.getParameterTypes());
          types.add(unit.getReturnType());
          for (JavaType t : types) {
            for (JavaClass c : t.getAllInvolvedRawTypes()) {
              if (JACKSON.test(c)) events.add(SimpleConditionEvent.violated(unit, unit.getFullName() + " names " + c.getName()));
            }
          }
        }
      });

  @ArchTest
  static final ArchRule noJacksonTypeInAPublicField = fields().that(API).should().notHaveRawType(JACKSON);

  /**
   * The classes that read settings from the environment and system properties: the options that
   * the edge ({@code Backends}, the command line) reads once and passes down.
   */
  private static final Set<String> OPTIONS = Set.of("dev.nodal.devices.NodalOptions",
      "dev.nodal.backend.opencl.OpenClOptions", "dev.nodal.data.DataOptions");

  /**
   * The classes that read facts of the running process, and the only names they may read: the
   * operating system, JVM folders and the dynamic linker's search path decide what JOCL and the
   * drivers do in this process, so no backend may be told other values.
   */
  private static final Map<String, Set<String>> FACTS = Map.of(
      "dev.nodal.backend.opencl.OpenClLoader", Set.of("os.name", "os.arch", "java.io.tmpdir", "LD_LIBRARY_PATH"),
      "dev.nodal.backend.opencl.SignalChaining", Set.of("os.name", "java.home"));

  /** Methods that read an environment variable or a system property. */
  private static final Map<String, Set<String>> READERS = Map.of(System.class.getName(),
      Set.of("getenv", "getProperty", "getProperties"), Integer.class.getName(), Set.of("getInteger"),
      Long.class.getName(), Set.of("getLong"), Boolean.class.getName(), Set.of("getBoolean"));

  /**
   * Nothing below the edge reads the environment or system properties: only {@link #OPTIONS}
   * do, and {@link #FACTS} read their facts, so two backends of one JVM run as their options say
   * and a program chooses without touching the environment.
   */
  @ArchTest
  static void onlyTheOptionsReadTheEnvironment(JavaClasses nodal) throws Exception {
    List<String> found = new ArrayList<>();
    for (JavaClass c : nodal) {
      String top = c.getName().replaceAll("\\$.*", "");
      for (JavaMethodCall call : c.getMethodCallsFromSelf()) {
        Set<String> names = READERS.get(call.getTargetOwner().getName());
        if (names == null || !names.contains(call.getName())) continue;
        if (!OPTIONS.contains(top) && !FACTS.containsKey(top)) found.add(call.getDescription());
      }
    }
    org.junit.jupiter.api.Assertions.assertEquals(List.of(), found, "environment or properties read below the edge");
    java.util.regex.Pattern read = java.util.regex.Pattern.compile("System\\.get(?:env|Property)\\(([^,)]*)");
    for (Map.Entry<String, Set<String>> e : FACTS.entrySet()) {
      Path file = Path.of("src/main/java", e.getKey().replace('.', '/') + ".java");
      var m = read.matcher(java.nio.file.Files.readString(file));
      int reads = 0;
      while (m.find()) {
        reads++;
        String name = m.group(1).strip().replaceAll("^\"|\"$", "");
        org.junit.jupiter.api.Assertions.assertTrue(e.getValue().contains(name), file + " reads " + m.group(1)
            + ", which is not one of its facts " + e.getValue() + ": make it an option");
      }
      org.junit.jupiter.api.Assertions.assertTrue(reads > 0, "the scan finds " + file + "'s reads");
    }
  }

  /**
   * Nothing process-wide is mutable: no static field may be reassigned, nor hold per-thread or
   * shared working state (the CPU backends' scratch lives in each backend's {@code CpuContext}).
   */
  @ArchTest
  static final ArchRule staticFieldsAreFinal = fields().that().areStatic().should().beFinal();

  @ArchTest
  static final ArchRule noStaticWorkingState = noFields().that().areStatic().should().haveRawType(
      DescribedPredicate.describe("a per-thread, atomic or scratch type", (JavaClass t) ->
          t.isAssignableTo(ThreadLocal.class) || t.getPackageName().equals("java.util.concurrent.atomic")
              || t.isAssignableTo(dev.nodal.tensor.ThreadBuffers.class) || t.isAssignableTo(dev.nodal.tensor.CpuContext.class)));

  /**
   * Nodal's classes, every one of the folder or jar they are built into, are in Nodal's packages:
   * none replaces a class of another project (JOCL's loader search, say), so a dependency's jar
   * means the same inside Nodal's as on its own.
   */
  @ArchTest
  static void everyClassIsInNodalsPackages(JavaClasses nodal) throws Exception {
    Path built = Path.of(Graph.class.getProtectionDomain().getCodeSource().getLocation().toURI());
    classes().should().resideInAPackage("dev.nodal..").check(new ClassFileImporter().importPath(built));
  }

  /**
   * Only {@code backend.opencl} speaks OpenCL in code: elsewhere no string names a {@code .cl}
   * file, a {@code -D} define or an OpenCL address space, so ops, optimizers and plans describe
   * kernels by program and function ({@link dev.nodal.graph.Kernel}) and a backend lowers them.
   * (OpenCL types are the rule {@link #theCoreNeedsNoJocl}'s.)
   */
  @ArchTest
  static void onlyBackendOpenClNamesOpenCl(JavaClasses nodal) throws Exception {
    java.util.regex.Pattern literal = java.util.regex.Pattern.compile("\"(?:[^\"\\\\]|\\\\.)*\"");
    java.util.regex.Pattern openCl = java.util.regex.Pattern.compile("\\.cl\\b|\"-D|\\s-D|__local|__global|__kernel");
    java.util.List<String> found = new java.util.ArrayList<>(), inOpenCl = new java.util.ArrayList<>();
    Path root = Path.of("src/main/java/dev/nodal");
    try (var files = java.nio.file.Files.walk(root)) {
      for (Path f : files.filter(x -> x.toString().endsWith(".java")).toList()) {
        java.util.List<String> into = f.startsWith(root.resolve("backend/opencl")) ? inOpenCl : found;
        java.util.List<String> lines = java.nio.file.Files.readAllLines(f);
        for (int i = 0; i < lines.size(); i++) {
          var m = literal.matcher(lines.get(i));
          while (m.find()) {
            if (openCl.matcher(m.group()).find()) into.add(root.relativize(f) + ":" + (i + 1) + " " + m.group());
          }
        }
      }
    }
    org.junit.jupiter.api.Assertions.assertEquals(java.util.List.of(), found, "OpenCL named outside backend.opencl");
    org.junit.jupiter.api.Assertions.assertTrue(inOpenCl.size() >= 3, "the scan finds backend.opencl's own: " + inOpenCl);
  }
}
