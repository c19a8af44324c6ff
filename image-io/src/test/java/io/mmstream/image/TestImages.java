package io.mmstream.image;

import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;

/** Image bytes made in the tests: real encoders where the JDK has one, hand-built headers otherwise. */
final class TestImages {
  private TestImages() {}

  /** A 1x1 lossless WebP (VP8L); no WebP encoder is available to the tests. */
  static final byte[] WEBP_1X1 = Base64.getDecoder().decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");

  /** 24x16, red with a blue oval, made by libwebp's cwebp 1.2 (-q 80): simple lossy format (VP8). */
  static final byte[] WEBP_LOSSY = Base64.getDecoder().decode(
      "UklGRu4AAABXRUJQVlA4IOIAAABQCACdASoYABAAPm0qkUWkIqGYBABABsS2AE6ZQjgbwD8QP2A/qvIBdgKUA0ED9K99A6wD0AP2A6xv9mf2O9h4"
      + "DXAlHPh/S3kkMTAA/vKYxBZgVifSlsgGiWWVrQAv/pX/EMfcsv4rc//jC7mv3QnXpbqig3SP79c+FgdPyZCuIrx3VZv/4lvq7sAOw9F3/qHWN7EfRO"
      + "vUE80mtU7JP9Y7DPOFnd1AWHF6jiZY/n5/kMDrHlGKtlRRA34j/0ucz8FyRjd1+qXS3x1aN3ei1UAQcOiw7+c/5c7eRXhF3hgeSgAA");
  /** The same image lossless (cwebp -lossless): VP8L. */
  static final byte[] WEBP_LOSSLESS = Base64.getDecoder().decode(
      "UklGRjgAAABXRUJQVlA4TCwAAAAvF8ADAA8Q87//8x8OFLdtGzmTZTSPnG8PA/plhoj+J/tAYcVK61ixQsGwAA==");
  /** The same image with a translucent background (cwebp -q 80): extended format, VP8X + ALPH + VP8. */
  static final byte[] WEBP_ALPHA = Base64.getDecoder().decode(
      "UklGRjABAABXRUJQVlA4WAoAAAAQAAAAFwAADwAAQUxQSCYAAAABD/Dk/4iIoLht28iZLKN55Hx7GNAvM0T0P9kHCitWWseKFQqGBVZQOCDkAAAAU"
      + "AgAnQEqGAAQAD5tKpFFpCKhmAQAQAbEtgBOmUI4G8A/ED9gP6ryAXYClANBA/SvfQOsA9AD9gOsL/bT9mfYeA1wJRz4f0t5JDEwAP7ymMQWYFYn0p"
      + "bIBollla0AL/6V/xDH3LL+K3P/4aEkDG97f1ybqUR2Z/RN49fS7aXXJJ1vjYa3/8S31kc6ObCMbZpGzkGPGiCWjTbs6qy4S4bbeN8uu6ZQJwDRjp5b"
      + "Dpz6mar/ZKbEW779kZv8qv/v/sA7WImlgPNVbSM95fnJHIA7FG9DeRER32l/y528ivCc0jJ/koAA");

  /** One valid file per supported encoding, keyed by a name; together they cover every {@link ImageFormat}. */
  static Map<String, Sample> samples() {
    Map<String, Sample> samples = new LinkedHashMap<>();
    samples.put("png", new Sample(ImageFormat.PNG, encode("png", 40, 30), 40, 30));
    samples.put("jpeg", new Sample(ImageFormat.JPEG, encode("jpeg", 40, 30), 40, 30));
    samples.put("gif", new Sample(ImageFormat.GIF, encode("gif", 40, 30), 40, 30));
    samples.put("bmp", new Sample(ImageFormat.BMP, encode("bmp", 40, 30), 40, 30));
    samples.put("webp-lossy", new Sample(ImageFormat.WEBP, WEBP_LOSSY, 24, 16));
    samples.put("webp-lossless", new Sample(ImageFormat.WEBP, WEBP_LOSSLESS, 24, 16));
    samples.put("webp-extended", new Sample(ImageFormat.WEBP, WEBP_ALPHA, 24, 16));
    return samples;
  }

  record Sample(ImageFormat format, byte[] bytes, int width, int height) {}

  /**
   * A small file of the sample's encoding whose header claims {@code width x height}: the sample with
   * its size fields rewritten (each format stores them differently), or for GIF and BMP a hand-built
   * file.
   */
  static byte[] headerClaiming(String sample, int width, int height) {
    byte[] b = sample.equals("gif") ? null : samples().get(sample).bytes().clone();
    switch (sample) {
      case "png" -> {
        return pngHeaderClaiming(width, height);
      }
      case "jpeg" -> {
        int sof = indexOf(b, new byte[] {(byte) 0xFF, (byte) 0xC0});
        ByteBuffer.wrap(b, sof + 5, 4).putShort((short) height).putShort((short) width);
      }
      case "gif" -> {
        return gifClaiming(width, height);
      }
      case "bmp" -> {
        return bmpRle8Claiming(width, height);
      }
      case "webp-lossy" -> ByteBuffer.wrap(b, 26, 4).order(ByteOrder.LITTLE_ENDIAN)
          .putShort((short) width).putShort((short) height);
      case "webp-lossless" -> {
        // after the 0x2F signature: 14 bits width-1, 14 bits height-1, alpha and version bits (LSB first)
        int bits = ByteBuffer.wrap(b, 21, 4).order(ByteOrder.LITTLE_ENDIAN).getInt();
        bits = (bits & ~0x0FFF_FFFF) | (width - 1) | (height - 1) << 14;
        ByteBuffer.wrap(b, 21, 4).order(ByteOrder.LITTLE_ENDIAN).putInt(bits);
      }
      case "webp-extended" -> {
        // VP8X canvas: 24-bit width-1 and height-1 at offsets 24 and 27
        int w = width - 1;
        int h = height - 1;
        b[24] = (byte) w;
        b[25] = (byte) (w >>> 8);
        b[26] = (byte) (w >>> 16);
        b[27] = (byte) h;
        b[28] = (byte) (h >>> 8);
        b[29] = (byte) (h >>> 16);
      }
      default -> throw new IllegalArgumentException(sample);
    }
    return b;
  }

  /** GIF89a with a logical screen and one image of {@code width x height}, and a few bytes of LZW data. */
  private static byte[] gifClaiming(int width, int height) {
    ByteBuffer b = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
    b.put("GIF89a".getBytes()).putShort((short) width).putShort((short) height).put((byte) 0).put((byte) 0)
        .put((byte) 0);
    b.put((byte) 0x2C).putShort((short) 0).putShort((short) 0).putShort((short) width).putShort((short) height)
        .put((byte) 0);
    b.put((byte) 2).put((byte) 2).put((byte) 0x4C).put((byte) 0x01).put((byte) 0).put((byte) 0x3B);
    return java.util.Arrays.copyOf(b.array(), b.position());
  }

  /**
   * An 8-bit run-length-encoded BMP of {@code width x height} whose data is just "end of bitmap": the
   * BMP form of a decompression bomb (uncompressed BMPs must carry all their bytes, which the reader checks).
   */
  private static byte[] bmpRle8Claiming(int width, int height) {
    int dataOffset = 14 + 40 + 2 * 4;
    byte[] rle = {0, 1};
    ByteBuffer b = ByteBuffer.allocate(dataOffset + rle.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'B').put((byte) 'M').putInt(dataOffset + rle.length).putInt(0).putInt(dataOffset);
    b.putInt(40).putInt(width).putInt(height).putShort((short) 1).putShort((short) 8).putInt(1 /* BI_RLE8 */)
        .putInt(rle.length).putInt(2835).putInt(2835).putInt(2).putInt(0);
    b.putInt(0x00FF0000).putInt(0x000000FF);
    b.put(rle);
    return b.array();
  }

  private static int indexOf(byte[] b, byte[] pattern) {
    outer:
    for (int i = 0; i + pattern.length <= b.length; i++) {
      for (int j = 0; j < pattern.length; j++) {
        if (b[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    throw new IllegalArgumentException("pattern not found");
  }

  static byte[] encode(String format, int width, int height) {
    int type = format.equals("jpeg") || format.equals("bmp") ? BufferedImage.TYPE_INT_RGB : BufferedImage.TYPE_INT_ARGB;
    BufferedImage image = new BufferedImage(width, height, type);
    Graphics2D g = image.createGraphics();
    g.setColor(Color.RED);
    g.fillRect(0, 0, width, height);
    g.setColor(Color.BLUE);
    g.fillOval(width / 4, height / 4, width / 2, height / 2);
    g.dispose();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try {
      if (!ImageIO.write(image, format, out)) {
        throw new IllegalStateException("no writer for " + format);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  /** A PNG whose IHDR claims {@code width x height}; the image data is a few bytes only. */
  static byte[] pngHeaderClaiming(int width, int height) {
    ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
        .put((byte) 0).put((byte) 0).put((byte) 0);
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
    chunk(out, "IHDR", ihdr.array());
    chunk(out, "IDAT", new byte[] {0x78, (byte) 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01});
    chunk(out, "IEND", new byte[0]);
    return out.toByteArray();
  }

  private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
    out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
    byte[] typeBytes = type.getBytes();
    out.writeBytes(typeBytes);
    out.writeBytes(data);
    CRC32 crc = new CRC32();
    crc.update(typeBytes);
    crc.update(data);
    out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
  }
}
