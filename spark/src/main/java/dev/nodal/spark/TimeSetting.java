package dev.nodal.spark;

import org.apache.spark.SparkConf;

/** A Spark setting that is a time, written as Spark's own (60, 60s, 2m, 1h), read in seconds. */
final class TimeSetting {
  private TimeSetting() {}

  /**
   * {@code key} of {@code conf} in seconds ({@code byDefault} when unset), in {@code [min, max]};
   * otherwise refused as "{@code key=value: give <range>, as 60s or 2m}", {@code range} saying which.
   */
  static long seconds(SparkConf conf, String key, long byDefault, long min, long max, String range) {
    String value = conf.get(key, byDefault + "s").strip();
    long seconds;
    try {
      seconds = conf.getTimeAsSeconds(key, value);
    } catch (RuntimeException e) {
      seconds = min - 1;
    }
    if (seconds < min || seconds > max) throw new IllegalArgumentException(key + "=" + value + ": give " + range + ", as 60s or 2m");
    return seconds;
  }
}
