package dev.nodal.bench;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.zip.GZIPInputStream;
import org.tensorflow.Graph;
import org.tensorflow.Operand;
import org.tensorflow.Session;
import org.tensorflow.ndarray.Shape;
import org.tensorflow.ndarray.buffer.DataBuffers;
import org.tensorflow.op.Op;
import org.tensorflow.op.Ops;
import org.tensorflow.op.core.Placeholder;
import org.tensorflow.op.core.Variable;
import org.tensorflow.op.nn.FusedBatchNorm;
import org.tensorflow.proto.ConfigProto;
import org.tensorflow.types.TFloat32;
import org.tensorflow.types.TInt32;

/**
 * TensorFlow Java's training of the models that {@code nodal bench} times, built from TensorFlow's
 * raw ops in graph mode, with its gradients ({@code tf.gradients}) and its momentum update:
 *
 * <ul>
 *   <li>{@code mlp-epoch}: the default MLP (784-256-128-10, ReLU), batch 128, SGD with momentum
 *       0.9 and rate 0.05, through one shuffled epoch of the 60,000 Fashion-MNIST training images;
 *       an operation is one epoch, and the test accuracy after the last is printed.
 *   <li>{@code cnn}: one training step of the cnn model (conv 3×3 32, ReLU, max pool 2, conv 3×3
 *       64, ReLU, max pool 2, dense 128, ReLU, dense 10) at batch 256 on random images, SGD with
 *       momentum 0.9 and rate 0.01; {@code cnn-bn} adds batch norm after each convolution.
 * </ul>
 *
 * Images are NHWC, TensorFlow's CPU layout. Prints each timed run, then the minimum and the median
 * per operation, as {@code nodal bench} does.
 *
 * <p>Usage: {@code TfBench mlp-epoch|cnn|cnn-bn [repeats] [inner] [threads] [data folder]}
 * (defaults 3, 1 for the epoch and 5 for a step, 2, {@code /usr/share/datasets/fashion-mnist}).
 */
public final class TfBench {
  private TfBench() {}

  public static void main(String[] args) throws IOException {
    if (args.length < 1 || !List.of("mlp-epoch", "cnn", "cnn-bn").contains(args[0])) {
      System.err.println("usage: TfBench mlp-epoch|cnn|cnn-bn [repeats] [inner] [threads] [data folder]");
      System.exit(2);
    }
    String workload = args[0];
    boolean epoch = workload.equals("mlp-epoch");
    int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 3;
    int inner = args.length > 2 ? Integer.parseInt(args[2]) : epoch ? 1 : 5;
    int threads = args.length > 3 ? Integer.parseInt(args[3]) : 2;
    Path data = Path.of(args.length > 4 ? args[4] : "/usr/share/datasets/fashion-mnist");
    ConfigProto config = ConfigProto.newBuilder().setIntraOpParallelismThreads(threads)
        .setInterOpParallelismThreads(1).build();
    try (Graph g = new Graph(); Session s = new Session(g, config)) {
      Model model = epoch ? mlp(Ops.create(g)) : cnn(Ops.create(g), workload.equals("cnn-bn"));
      s.initialize();
      Runnable op;
      if (epoch) {
        float[][] train = images(data, "train-images-idx3-ubyte"), test = images(data, "t10k-images-idx3-ubyte");
        int[] trainLabels = labels(data, "train-labels-idx1-ubyte"), testLabels = labels(data, "t10k-labels-idx1-ubyte");
        Random shuffle = new Random(1);
        op = () -> epoch(s, model, train, trainLabels, 128, shuffle);
        run(workload, op, 1, repeats, inner);
        System.out.printf("test accuracy %.4f%n", accuracy(s, model, test, testLabels));
      } else {
        Random r = new Random(1);
        float[] x = new float[256 * 28 * 28];
        int[] y = new int[256];
        for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
        for (int i = 0; i < y.length; i++) y[i] = r.nextInt(10);
        op = () -> step(s, model, x, y, 256);
        run(workload, op, 10, repeats, inner);
      }
    }
  }

  /** The graph's ends: inputs, the loss, the logits and the training op. */
  private record Model(Placeholder<TFloat32> x, Placeholder<TFloat32> y, Operand<TFloat32> logits, Operand<TFloat32> loss,
      Op train, long[] imageShape) {}

  /** The layers between the images and the logits, adding their variables to {@code params}. */
  private interface Body {
    Operand<TFloat32> logits(Operand<TFloat32> x, Random r, List<Variable<TFloat32>> params);
  }

  private static Model mlp(Ops tf) {
    return model(tf, 0.05f, new long[] {784}, (x, r, params) -> {
      Operand<TFloat32> h = dense(tf, x, 784, 256, r, params, true);
      h = dense(tf, h, 256, 128, r, params, true);
      return dense(tf, h, 128, 10, r, params, false);
    });
  }

  private static Model cnn(Ops tf, boolean batchNorm) {
    return model(tf, 0.01f, new long[] {28, 28, 1}, (x, r, params) -> {
      Operand<TFloat32> h = convBlock(tf, x, 1, 32, r, params, batchNorm);
      h = convBlock(tf, h, 32, 64, r, params, batchNorm);
      h = tf.reshape(h, tf.constant(new int[] {-1, 7 * 7 * 64}));
      h = dense(tf, h, 7 * 7 * 64, 128, r, params, true);
      return dense(tf, h, 128, 10, r, params, false);
    });
  }

  /** Placeholders for the images and one-hot labels, the body (weights drawn from seed 0), then {@link #finish}. */
  private static Model model(Ops tf, float rate, long[] imageShape, Body body) {
    Placeholder<TFloat32> x = tf.placeholder(TFloat32.class);
    Placeholder<TFloat32> y = tf.placeholder(TFloat32.class);
    List<Variable<TFloat32>> params = new ArrayList<>();
    Operand<TFloat32> logits = body.logits(x, new Random(0), params);
    return finish(tf, x, y, logits, params, rate, imageShape);
  }

  /**
   * Mean cross-entropy against one-hot labels (TensorFlow's C API has no gradient for the sparse
   * form), its gradients, and a momentum update of every parameter.
   */
  private static Model finish(Ops tf, Placeholder<TFloat32> x, Placeholder<TFloat32> y, Operand<TFloat32> logits,
      List<Variable<TFloat32>> params, float rate, long[] imageShape) {
    Operand<TFloat32> loss = tf.math.mean(tf.nn.softmaxCrossEntropyWithLogits(logits, y).loss(), tf.constant(0));
    List<Operand<?>> grads = new ArrayList<>();
    tf.gradients(loss, params).forEach(grads::add);
    List<Op> updates = new ArrayList<>();
    for (int i = 0; i < params.size(); i++) {
      Variable<TFloat32> p = params.get(i);
      Variable<TFloat32> velocity = tf.variable(tf.zerosLike(p));
      @SuppressWarnings("unchecked")
      Operand<TFloat32> grad = (Operand<TFloat32>) grads.get(i);
      updates.add(tf.train.applyMomentum(p, velocity, tf.constant(rate), grad, tf.constant(0.9f)));
    }
    return new Model(x, y, logits, loss, tf.withControlDependencies(updates).noOp(), imageShape);
  }

  /** x·W + b, then ReLU where asked; W uniform in ±1/√in, as PyTorch's Linear. */
  private static Operand<TFloat32> dense(Ops tf, Operand<TFloat32> x, int in, int out, Random r,
      List<Variable<TFloat32>> params, boolean relu) {
    float bound = (float) (1 / Math.sqrt(in));
    Variable<TFloat32> w = tf.variable(tf.constant(Shape.of(in, out), DataBuffers.of(uniform(r, in * out, bound))));
    Variable<TFloat32> b = tf.variable(tf.constant(Shape.of(out), DataBuffers.of(uniform(r, out, bound))));
    params.add(w);
    params.add(b);
    Operand<TFloat32> z = tf.nn.biasAdd(tf.linalg.matMul(x, w), b);
    return relu ? tf.nn.relu(z) : z;
  }

  /** 3×3 convolution (same padding) with a bias, batch norm where asked, ReLU, 2×2 max pool. */
  private static Operand<TFloat32> convBlock(Ops tf, Operand<TFloat32> x, int in, int out, Random r,
      List<Variable<TFloat32>> params, boolean batchNorm) {
    float bound = (float) (1 / Math.sqrt(9.0 * in));
    Variable<TFloat32> f = tf.variable(tf.constant(Shape.of(3, 3, in, out), DataBuffers.of(uniform(r, 9 * in * out, bound))));
    Variable<TFloat32> b = tf.variable(tf.constant(Shape.of(out), DataBuffers.of(uniform(r, out, bound))));
    params.add(f);
    params.add(b);
    Operand<TFloat32> z = tf.nn.biasAdd(tf.nn.conv2d(x, f, List.of(1L, 1L, 1L, 1L), "SAME"), b);
    if (batchNorm) {
      float[] ones = new float[out];
      Arrays.fill(ones, 1f);
      Variable<TFloat32> gamma = tf.variable(tf.constant(Shape.of(out), DataBuffers.of(ones)));
      Variable<TFloat32> beta = tf.variable(tf.constant(Shape.of(out), DataBuffers.of(new float[out])));
      params.add(gamma);
      params.add(beta);
      Operand<TFloat32> empty = tf.constant(Shape.of(0), DataBuffers.of(new float[0]));
      z = tf.nn.fusedBatchNorm(z, gamma, beta, empty, empty, FusedBatchNorm.isTraining(true)).y();
    }
    Operand<TInt32> window = tf.constant(new int[] {1, 2, 2, 1});
    return tf.nn.maxPool(tf.nn.relu(z), window, window, "VALID");
  }

  private static float[] uniform(Random r, int n, float bound) {
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (r.nextFloat() * 2 - 1) * bound;
    return v;
  }

  /** One training step on the first {@code batch} images of x and labels of y. */
  private static void step(Session s, Model m, float[] x, int[] y, int batch) {
    long[] dims = new long[m.imageShape().length + 1];
    dims[0] = batch;
    System.arraycopy(m.imageShape(), 0, dims, 1, m.imageShape().length);
    try (TFloat32 xt = TFloat32.tensorOf(Shape.of(dims), DataBuffers.of(x, true, false));
        TFloat32 yt = TFloat32.tensorOf(Shape.of(batch, 10), DataBuffers.of(oneHot(y, batch), true, false))) {
      s.runner().feed(m.x(), xt).feed(m.y(), yt).addTarget(m.train()).run().close();
    }
  }

  private static float[] oneHot(int[] labels, int n) {
    float[] out = new float[n * 10];
    for (int i = 0; i < n; i++) out[i * 10 + labels[i]] = 1f;
    return out;
  }

  /** One shuffled epoch in batches (the last one shorter), as {@code nodal bench mlp-epoch}. */
  private static void epoch(Session s, Model m, float[][] images, int[] labels, int batch, Random shuffle) {
    int n = images.length, features = images[0].length;
    int[] order = new int[n];
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = n - 1; i > 0; i--) {
      int j = shuffle.nextInt(i + 1), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    float[] x = new float[batch * features];
    int[] y = new int[batch];
    for (int from = 0; from < n; from += batch) {
      int rows = Math.min(batch, n - from);
      for (int i = 0; i < rows; i++) {
        System.arraycopy(images[order[from + i]], 0, x, i * features, features);
        y[i] = labels[order[from + i]];
      }
      step(s, m, rows == batch ? x : Arrays.copyOf(x, rows * features), rows == batch ? y : Arrays.copyOf(y, rows), rows);
    }
  }

  private static double accuracy(Session s, Model m, float[][] images, int[] labels) {
    int n = images.length, features = images[0].length, right = 0;
    float[] x = new float[n * features];
    for (int i = 0; i < n; i++) System.arraycopy(images[i], 0, x, i * features, features);
    try (TFloat32 xt = TFloat32.tensorOf(Shape.of(n, features), DataBuffers.of(x, true, false));
        TFloat32 logits = (TFloat32) s.runner().feed(m.x(), xt).fetch(m.logits()).run().get(0)) {
      for (int i = 0; i < n; i++) {
        int best = 0;
        for (int k = 1; k < 10; k++) if (logits.getFloat(i, k) > logits.getFloat(i, best)) best = k;
        if (best == labels[i]) right++;
      }
    }
    return (double) right / n;
  }

  /** Warm-up runs, then {@code repeats} timed runs of {@code inner} operations; min and median per operation. */
  private static void run(String workload, Runnable op, int warmUp, int repeats, int inner) {
    for (int i = 0; i < warmUp; i++) op.run();
    double[] ms = new double[repeats];
    for (int rep = 0; rep < repeats; rep++) {
      long t0 = System.nanoTime();
      for (int i = 0; i < inner; i++) op.run();
      ms[rep] = (System.nanoTime() - t0) / 1e6 / inner;
      System.out.printf("run %d: %.3f ms%n", rep + 1, ms[rep]);
    }
    double[] sorted = ms.clone();
    Arrays.sort(sorted);
    System.out.printf("tfjava %s: min %.3f ms, median %.3f ms per op%n", workload, sorted[0], sorted[repeats / 2]);
  }

  /** IDX images as rows of floats in [0, 1]; the file as given or gzipped. */
  private static float[][] images(Path folder, String name) throws IOException {
    try (DataInputStream in = open(folder, name)) {
      if (in.readInt() != 0x803) throw new IOException(name + ": not an IDX file of images");
      int n = in.readInt(), features = in.readInt() * in.readInt();
      byte[] raw = in.readNBytes(n * features);
      float[][] out = new float[n][features];
      for (int i = 0; i < n; i++) for (int j = 0; j < features; j++) out[i][j] = (raw[i * features + j] & 0xff) / 255f;
      return out;
    }
  }

  private static int[] labels(Path folder, String name) throws IOException {
    try (DataInputStream in = open(folder, name)) {
      if (in.readInt() != 0x801) throw new IOException(name + ": not an IDX file of labels");
      byte[] raw = in.readNBytes(in.readInt());
      int[] out = new int[raw.length];
      for (int i = 0; i < raw.length; i++) out[i] = raw[i] & 0xff;
      return out;
    }
  }

  private static DataInputStream open(Path folder, String name) throws IOException {
    Path plain = folder.resolve(name), gz = folder.resolve(name + ".gz");
    if (Files.exists(plain)) return new DataInputStream(Files.newInputStream(plain));
    if (!Files.exists(gz)) throw new IOException("neither " + plain + " nor " + gz + " exists (Debian: apt-get install dataset-fashion-mnist)");
    InputStream raw = Files.newInputStream(gz);
    return new DataInputStream(new GZIPInputStream(raw, 1 << 16));
  }
}
