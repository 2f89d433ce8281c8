package dev.nodal.plan;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.junit.jupiter.api.Test;

class BufferPlannerTest {

  @Test
  void disjointLifetimesShareAndOverlappingOnesDoNot() {
    BufferPlanner p = new BufferPlanner();
    int a = p.add(100, 0, 2);
    int b = p.add(100, 2, 4); // starts when a ends: a kernel may read a and write b
    int c = p.add(80, 3, 5);
    int d = p.add(100, 5, 6);
    BufferPlanner.Plan plan = p.plan();
    assertNotEquals(plan.physicalOf()[a], plan.physicalOf()[b]);
    assertEquals(plan.physicalOf()[a], plan.physicalOf()[c], "c starts after a ends and fits");
    assertEquals(plan.physicalOf()[b], plan.physicalOf()[d], "d starts after b ends");
    assertEquals(200, plan.totalBytes());
  }

  @Test
  void persistentBuffersAreNeverShared() {
    BufferPlanner p = new BufferPlanner();
    int keep = p.add(10, BufferPlanner.ALWAYS, 0);
    int tmp = p.add(10, 5, 6);
    BufferPlanner.Plan plan = p.plan();
    assertNotEquals(plan.physicalOf()[keep], plan.physicalOf()[tmp]);
  }

  @Test
  void aLargerLaterBufferGetsItsOwn() {
    BufferPlanner p = new BufferPlanner();
    int small = p.add(10, 0, 1);
    int large = p.add(50, 2, 3);
    BufferPlanner.Plan plan = p.plan();
    assertNotEquals(plan.physicalOf()[small], plan.physicalOf()[large]);
  }
}
