package io.mmstream.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.util.Objects;

/**
 * 8-bit pixels, interleaved row-major: 1 channel (grey, PIL mode "L") or 3 channels (RGB).
 *
 * <p>This is the form every model preprocessor starts from. Pixels are read from the raster's
 * samples, never through {@code BufferedImage.getRGB}, which applies colour-space conversions to
 * grey images.
 */
public record PixelImage(int width, int height, int channels, byte[] pixels) {

  public PixelImage {
    Objects.requireNonNull(pixels, "pixels");
    if (channels != 1 && channels != 3) {
      throw new IllegalArgumentException("channels must be 1 or 3, got " + channels);
    }
    if ((long) width * height * channels != pixels.length) {
      throw new IllegalArgumentException("pixel buffer does not match " + width + "x" + height + "x" + channels);
    }
  }

  public int sample(int x, int y, int c) {
    return pixels[(y * width + x) * channels + c] & 0xFF;
  }

  /** PIL's {@code convert("RGB")}: grey is replicated into three channels. */
  public PixelImage toRgb() {
    if (channels == 3) {
      return this;
    }
    byte[] rgb = new byte[pixels.length * 3];
    for (int i = 0; i < pixels.length; i++) {
      rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = pixels[i];
    }
    return new PixelImage(width, height, 3, rgb);
  }

  /** A copy of the {@code w x h} window whose top-left corner is ({@code left}, {@code top}). */
  public PixelImage crop(int left, int top, int w, int h) {
    if (left < 0 || top < 0 || left + w > width || top + h > height) {
      throw new IllegalArgumentException("crop outside the image");
    }
    byte[] out = new byte[w * h * channels];
    for (int y = 0; y < h; y++) {
      System.arraycopy(pixels, ((top + y) * width + left) * channels, out, y * w * channels, w * channels);
    }
    return new PixelImage(w, h, channels, out);
  }

  /**
   * The pixels of a decoded image: single-band 8-bit images stay grey, everything else becomes RGB
   * (alpha dropped, palettes expanded, 16-bit samples scaled to 8 bits).
   */
  public static PixelImage from(BufferedImage image) {
    int w = image.getWidth();
    int h = image.getHeight();
    Raster raster = image.getRaster();
    ColorModel model = image.getColorModel();
    int bands = raster.getNumBands();
    int bits = model.getComponentSize(0);
    if (!(model instanceof IndexColorModel) && bands == 1) {
      byte[] grey = new byte[w * h];
      int[] row = new int[w];
      int shift = Math.max(0, bits - 8);
      for (int y = 0; y < h; y++) {
        raster.getSamples(0, y, w, 1, 0, row);
        for (int x = 0; x < w; x++) {
          grey[y * w + x] = (byte) (row[x] >> shift);
        }
      }
      return new PixelImage(w, h, 1, grey);
    }
    byte[] rgb = new byte[w * h * 3];
    boolean directRgb =
        !(model instanceof IndexColorModel) && bands >= 3 && model.getColorSpace().isCS_sRGB();
    if (directRgb) {
      int[] row = new int[w];
      int shift = Math.max(0, bits - 8);
      for (int c = 0; c < 3; c++) {
        for (int y = 0; y < h; y++) {
          raster.getSamples(0, y, w, 1, c, row);
          for (int x = 0; x < w; x++) {
            rgb[(y * w + x) * 3 + c] = (byte) (row[x] >> shift);
          }
        }
      }
    } else {
      int[] row = image.getRGB(0, 0, w, h, null, 0, w);
      for (int i = 0; i < row.length; i++) {
        rgb[3 * i] = (byte) (row[i] >> 16);
        rgb[3 * i + 1] = (byte) (row[i] >> 8);
        rgb[3 * i + 2] = (byte) row[i];
      }
    }
    return new PixelImage(w, h, 3, rgb);
  }
}
