package dev.nodal.spark;

import java.io.Serializable;

/** One labelled example of a data set on Spark: its features and its class (as a float, as Nodal's label inputs take it). */
public record Example(float[] features, float label) implements Serializable {
  private static final long serialVersionUID = 1L;
}
