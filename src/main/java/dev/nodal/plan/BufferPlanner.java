package dev.nodal.plan;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * Assigns logical buffers to physical ones so that buffers whose lifetimes do not overlap share
 * memory. A lifetime is a closed interval of step times; two buffers may share only if one ends
 * strictly before the other starts (a kernel that reads one and writes the other at the same time
 * keeps them apart). Persistent buffers get a physical buffer of their own.
 *
 * <p>Greedy in order of start time: each buffer takes the smallest free physical buffer that is
 * large enough, else a new one. Not optimal, but simple and good for chains and MLPs.
 */
final class BufferPlanner {
  /** Persistent: lives for the whole session. */
  static final int ALWAYS = -1;

  private final List<long[]> requests = new ArrayList<>(); // {bytes, start, end}

  /** Adds a logical buffer; returns its index. {@code start = ALWAYS} makes it persistent. */
  int add(long bytes, int start, int end) {
    requests.add(new long[] {bytes, start, end});
    return requests.size() - 1;
  }

  /** The result: physical buffer of each logical one, and each physical buffer's size. */
  record Plan(int[] physicalOf, long[] physicalBytes) {
    long totalBytes() {
      return Arrays.stream(physicalBytes).sum();
    }
  }

  Plan plan() {
    int n = requests.size();
    int[] physicalOf = new int[n];
    List<Long> sizes = new ArrayList<>();
    List<Long> freeAfter = new ArrayList<>(); // end time of the last occupant; Long.MAX_VALUE: never free
    Integer[] order = new Integer[n];
    for (int i = 0; i < n; i++) order[i] = i;
    Arrays.sort(order, Comparator.comparingLong(i -> requests.get(i)[1]));
    for (int i : order) {
      long[] r = requests.get(i);
      boolean persistent = r[1] == ALWAYS;
      int best = -1;
      if (!persistent) {
        for (int p = 0; p < sizes.size(); p++) {
          if (freeAfter.get(p) < r[1] && sizes.get(p) >= r[0] && (best < 0 || sizes.get(p) < sizes.get(best))) best = p;
        }
      }
      if (best < 0) {
        best = sizes.size();
        sizes.add(r[0]);
        freeAfter.add(0L);
      }
      freeAfter.set(best, persistent ? Long.MAX_VALUE : r[2]);
      physicalOf[i] = best;
    }
    return new Plan(physicalOf, sizes.stream().mapToLong(Long::longValue).toArray());
  }
}
