package io.mmstream.image;

/**
 * Pillow's {@code Image.resize(size, BICUBIC)} on 8-bit images, bit for bit.
 *
 * <p>Written by hand because no Java library reproduces Pillow's fixed-point recipe, and models are
 * defined by what the original (PIL-based) preprocessing feeds them: bicubic with a = -0.5, support
 * scaled by the downscale factor (antialiasing), weights normalised in double then stored as 22-bit
 * fixed point, the horizontal pass first into a uint8 intermediate restricted to the rows the
 * vertical pass reads, then the vertical pass (Pillow 9.4 {@code libImaging/Resample.c}).
 */
public final class PilResampler {
  private static final int PRECISION_BITS = 32 - 8 - 2;
  private static final double SUPPORT = 2.0;

  private PilResampler() {}

  /** Resizes {@code image} to {@code outWidth x outHeight} as PIL's bicubic filter does. */
  public static PixelImage resizeBicubic(PixelImage image, int outWidth, int outHeight) {
    if (outWidth <= 0 || outHeight <= 0) {
      throw new IllegalArgumentException("target size must be positive");
    }
    Coefficients horizontal = Coefficients.of(image.width(), outWidth);
    Coefficients vertical = Coefficients.of(image.height(), outHeight);
    boolean needHorizontal = outWidth != image.width();
    boolean needVertical = outHeight != image.height();
    PixelImage current = image;
    if (needHorizontal) {
      int firstRow = vertical.bounds[0];
      int lastRow = vertical.bounds[2 * (outHeight - 1)] + vertical.bounds[2 * (outHeight - 1) + 1];
      for (int i = 0; i < outHeight; i++) {
        vertical.bounds[2 * i] -= firstRow;
      }
      current = horizontalPass(image, horizontal, firstRow, lastRow - firstRow);
    }
    if (needVertical) {
      current = verticalPass(current, vertical);
    }
    return current == image ? new PixelImage(image.width(), image.height(), image.channels(), image.pixels().clone()) : current;
  }

  private static PixelImage horizontalPass(PixelImage in, Coefficients k, int rowOffset, int rows) {
    int c = in.channels();
    int outW = k.outSize;
    byte[] src = in.pixels();
    byte[] out = new byte[outW * rows * c];
    for (int y = 0; y < rows; y++) {
      int srcRow = (y + rowOffset) * in.width() * c;
      for (int x = 0; x < outW; x++) {
        int min = k.bounds[2 * x];
        int count = k.bounds[2 * x + 1];
        int base = x * k.size;
        for (int ch = 0; ch < c; ch++) {
          int sum = 1 << (PRECISION_BITS - 1);
          for (int i = 0; i < count; i++) {
            sum += (src[srcRow + (min + i) * c + ch] & 0xFF) * k.weights[base + i];
          }
          out[(y * outW + x) * c + ch] = clip8(sum);
        }
      }
    }
    return new PixelImage(outW, rows, c, out);
  }

  private static PixelImage verticalPass(PixelImage in, Coefficients k) {
    int c = in.channels();
    int w = in.width();
    int outH = k.outSize;
    byte[] src = in.pixels();
    byte[] out = new byte[w * outH * c];
    for (int y = 0; y < outH; y++) {
      int min = k.bounds[2 * y];
      int count = k.bounds[2 * y + 1];
      int base = y * k.size;
      for (int x = 0; x < w; x++) {
        for (int ch = 0; ch < c; ch++) {
          int sum = 1 << (PRECISION_BITS - 1);
          for (int i = 0; i < count; i++) {
            sum += (src[((min + i) * w + x) * c + ch] & 0xFF) * k.weights[base + i];
          }
          out[(y * w + x) * c + ch] = clip8(sum);
        }
      }
    }
    return new PixelImage(w, outH, c, out);
  }

  private static byte clip8(int value) {
    if (value >= (1 << PRECISION_BITS << 8)) {
      return (byte) 255;
    }
    if (value <= 0) {
      return 0;
    }
    return (byte) (value >> PRECISION_BITS);
  }

  private static double bicubic(double x) {
    final double a = -0.5;
    x = Math.abs(x);
    if (x < 1.0) {
      return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
    }
    if (x < 2.0) {
      return (((x - 5) * x + 8) * x - 4) * a;
    }
    return 0.0;
  }

  /** Per output position: first input index, tap count and fixed-point weights (precompute_coeffs). */
  private static final class Coefficients {
    final int outSize;
    final int size;
    final int[] bounds;
    final int[] weights;

    private Coefficients(int outSize, int size, int[] bounds, int[] weights) {
      this.outSize = outSize;
      this.size = size;
      this.bounds = bounds;
      this.weights = weights;
    }

    static Coefficients of(int inSize, int outSize) {
      double scale = (double) inSize / outSize;
      double filterScale = Math.max(scale, 1.0);
      double support = SUPPORT * filterScale;
      int size = (int) Math.ceil(support) * 2 + 1;
      int[] bounds = new int[outSize * 2];
      int[] weights = new int[outSize * size];
      double[] k = new double[size];
      for (int xx = 0; xx < outSize; xx++) {
        double center = (xx + 0.5) * scale;
        double ss = 1.0 / filterScale;
        int xmin = (int) (center - support + 0.5);
        if (xmin < 0) {
          xmin = 0;
        }
        int xmax = (int) (center + support + 0.5);
        if (xmax > inSize) {
          xmax = inSize;
        }
        xmax -= xmin;
        double total = 0.0;
        for (int x = 0; x < xmax; x++) {
          double w = bicubic((x + xmin - center + 0.5) * ss);
          k[x] = w;
          total += w;
        }
        for (int x = 0; x < xmax; x++) {
          double w = total != 0.0 ? k[x] / total : k[x];
          weights[xx * size + x] =
              w < 0 ? (int) (-0.5 + w * (1 << PRECISION_BITS)) : (int) (0.5 + w * (1 << PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
      }
      return new Coefficients(outSize, size, bounds, weights);
    }
  }
}
