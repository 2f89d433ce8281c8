package dev.nodal.ops;

import dev.nodal.graph.Pass;
import dev.nodal.tensor.CpuContext;
import dev.nodal.tensor.CpuTensor;
import dev.nodal.tensor.Epilogue;
import dev.nodal.tensor.CpuMath;
import dev.nodal.tensor.FusedActivation;
import dev.nodal.tensor.ThreadBuffers;
import java.util.stream.IntStream;

/**
 * A convolution on the CPU: each image and group lowered to a GEMM over its patches (im2col, in
 * scratch kept per thread by the running backend's CPU context), chunks of images in parallel,
 * the weight and bias gradients of each chunk summed in chunk order, so results do not depend on
 * the number of threads.
 */
final class Conv2dCpu extends Conv2dPart {
  Conv2dCpu(Conv2d op) {
    super(op);
  }

  /**
   * Patches of image n, group g: {@code col[(c·R + r)·S + s][p·Q + q]} is the input under tap
   * (r, s) of output (p, q), 0 in the padding; with {@code transposed}, indexed {@code [pq][crs]}.
   */
  private void im2col(Conv2dGeometry g, float[] x, int n, int group, float[] col, boolean transposed) {
    int pq = g.p() * g.q(), crs = g.cg() * g.r() * g.s();
    for (int c = 0; c < g.cg(); c++) {
      int plane = (n * g.c() + group * g.cg() + c) * g.h() * g.w();
      for (int r = 0; r < g.r(); r++) {
        for (int s = 0; s < g.s(); s++) {
          int row = (c * g.r() + r) * g.s() + s;
          for (int p = 0; p < g.p(); p++) {
            int ih = p * sh - ph + r * dh;
            for (int q = 0; q < g.q(); q++) {
              int iw = q * sw - pw + s * dw;
              float v = ih < 0 || ih >= g.h() || iw < 0 || iw >= g.w() ? 0f : x[plane + ih * g.w() + iw];
              col[transposed ? (p * g.q() + q) * crs + row : row * pq + p * g.q() + q] = v;
            }
          }
        }
      }
    }
  }

  /** Adds the patches' gradients {@code col [crs][pq]} back into image n, group g, of dx. */
  private void col2im(Conv2dGeometry g, float[] col, int n, int group, float[] dx) {
    int pq = g.p() * g.q();
    for (int c = 0; c < g.cg(); c++) {
      int plane = (n * g.c() + group * g.cg() + c) * g.h() * g.w();
      for (int r = 0; r < g.r(); r++) {
        for (int s = 0; s < g.s(); s++) {
          int row = ((c * g.r() + r) * g.s() + s) * pq;
          for (int p = 0; p < g.p(); p++) {
            int ih = p * sh - ph + r * dh;
            if (ih < 0 || ih >= g.h()) continue;
            for (int q = 0; q < g.q(); q++) {
              int iw = q * sw - pw + s * dw;
              if (iw >= 0 && iw < g.w()) dx[plane + ih * g.w() + iw] += col[row + p * g.q() + q];
            }
          }
        }
      }
    }
  }

  /** Images per CPU task: fixed, so that sums over images do not depend on the number of threads. */
  private static final int CHUNK = 8;

  /** im2col patches of one image and group. */
  private static final ThreadBuffers.Key PATCHES = new ThreadBuffers.Key("conv2d patches", 1);

  /** One image and group's dz·f', when there is an activation. */
  private static final ThreadBuffers.Key DY = new ThreadBuffers.Key("conv2d dY", 1);

  /** On the calling thread: each chunk's partial weight and bias gradients, summed in chunk order. */
  private static final ThreadBuffers.Key PARTIALS = new ThreadBuffers.Key("conv2d partial gradients", 1);

  /**
   * Per image and group: {@code z = f(W_g · col + bias)}, a GEMM of K/g × P·Q × C/g·R·S whose
   * epilogue adds the bias and applies the activation. Chunks of {@link #CHUNK} images run in
   * parallel, each writing its own images.
   */
  void forward(Pass pass, CpuTensor[] in, CpuTensor out) {
    Conv2dGeometry g = Conv2dGeometry.of(in[0].shape, in[1].shape, out.shape, groups);
    float[] x = in[0].data, w = in[1].data, z = out.data, b = bias ? in[2].data : null;
    int pq = g.p() * g.q(), crs = g.cg() * g.r() * g.s(), chunks = (g.n() + CHUNK - 1) / CHUNK;
    CpuContext cpu = pass.cpu();
    IntStream.range(0, chunks).parallel().forEach(chunk -> cpu.serially(() -> {
      float[] col = cpu.buffers(PATCHES).get(0, crs * pq);
      for (int n = chunk * CHUNK; n < Math.min(g.n(), (chunk + 1) * CHUNK); n++) {
        for (int group = 0; group < groups; group++) {
          im2col(g, x, n, group, col, false);
          int zOff = (n * g.k() + group * g.kg()) * pq;
          cpu.gemm(false, false, g.kg(), pq, crs, 1f, w, group * g.kg() * crs, col, 0, 0f, z, zOff,
              Epilogue.rows(b, group * g.kg(), activation));
        }
      }
    }));
  }

  /**
   * Per image and group, with {@code dy = dz·f'} from the output (dz itself without an
   * activation): {@code dW_g += dy_g · colᵀ}, {@code dcol = W_gᵀ · dy_g} added back by col2im,
   * and {@code db += Σ dy}. Chunks of images run in parallel; the weight and bias
   * gradients of each chunk are summed into dw and db in chunk order afterwards.
   */
  void backward(Pass pass, CpuTensor[] in, CpuTensor out, CpuTensor dOut, CpuTensor[] dIn) {
    Conv2dGeometry g = Conv2dGeometry.of(in[0].shape, in[1].shape, out.shape, groups);
    float[] x = in[0].data, w = in[1].data, z = out.data, dOutData = dOut.data;
    int pq = g.p() * g.q(), crs = g.cg() * g.r() * g.s(), chunks = (g.n() + CHUNK - 1) / CHUNK;
    int wSize = g.k() * crs, stride = wSize + g.k();
    boolean dw = dIn[1] != null, db = bias && dIn[2] != null, dx = dIn[0] != null;
    CpuContext cpu = pass.cpu();
    float[] partial = cpu.buffers(PARTIALS).get(0, chunks * stride);
    java.util.Arrays.fill(partial, 0, chunks * stride, 0f);
    IntStream.range(0, chunks).parallel().forEach(chunk -> cpu.serially(() -> {
      float[] col = cpu.buffers(PATCHES).get(0, crs * pq);
      int base = chunk * stride;
      for (int n = chunk * CHUNK; n < Math.min(g.n(), (chunk + 1) * CHUNK); n++) {
        for (int group = 0; group < groups; group++) {
          int zOff = (n * g.k() + group * g.kg()) * pq;
          float[] dz = dOutData;
          int dzOff = zOff;
          if (activation != FusedActivation.NONE) { // this image and group's dy, at offset 0
            dz = cpu.buffers(DY).get(0, g.kg() * pq);
            CpuMath.activationGradient(cpu, activation, z, zOff, dOutData, zOff, dz, 0, g.kg() * pq, false);
            dzOff = 0;
          }
          if (db) {
            for (int k = 0; k < g.kg(); k++) {
              partial[base + wSize + group * g.kg() + k] += CpuMath.sum(cpu, dz, dzOff + k * pq, dzOff + (k + 1) * pq);
            }
          }
          if (dw) {
            im2col(g, x, n, group, col, true);
            cpu.gemm(false, false, g.kg(), crs, pq, 1f, dz, dzOff, col, 0, 1f, partial, base + group * g.kg() * crs);
          }
          if (dx) {
            cpu.gemm(true, false, crs, pq, g.kg(), 1f, w, group * g.kg() * crs, dz, dzOff, 0f, col, 0);
            col2im(g, col, n, group, dIn[0].data);
          }
        }
      }
    }));
    for (int chunk = 0; chunk < chunks; chunk++) {
      int base = chunk * stride;
      if (dw) for (int i = 0; i < wSize; i++) dIn[1].data[i] += partial[base + i];
      if (db) for (int k = 0; k < g.k(); k++) dIn[2].data[k] += partial[base + wSize + k];
    }
  }
}
