package io.mmstream.image;

import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.event.IIOReadWarningListener;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes JPEG, PNG, GIF (first frame), BMP and WebP bytes into {@link PixelImage}s, refusing
 * anything dangerous or wrong before the pixels are decoded: the format comes from the magic bytes
 * and must agree with the declared content type; the dimensions come from the header through the
 * format's {@link ImageReader} and must respect the pixel limits (decompression bombs); a file cut
 * short is recognised from the format's end structure where it has one, because some readers fill
 * missing data silently. Every failure is an {@link ImageRejectedException} with a reason code; no
 * other exception escapes.
 */
public final class ImageDecoder {

  static {
    // Decoding happens in memory; ImageIO's default disk cache would write temp files per image.
    ImageIO.setUseCache(false);
  }

  private final ImageLimits limits;

  public ImageDecoder(ImageLimits limits) {
    this.limits = limits;
  }

  /**
   * Format and dimensions from the header, and the end-of-file check; no pixels are decoded, so it is
   * cheap enough for the stream application.
   */
  public ImageInfo probe(byte[] bytes, String contentType) throws ImageRejectedException {
    ImageFormat format = checkFormat(bytes, contentType);
    try (ImageInputStream in = open(bytes)) {
      ImageReader reader = readerFor(format, in);
      try {
        return checkDimensions(format, reader);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw corrupt(format, e);
    }
  }

  /** The decoded pixels, after the same checks as {@link #probe}. */
  public PixelImage decode(byte[] bytes, String contentType) throws ImageRejectedException {
    ImageFormat format = checkFormat(bytes, contentType);
    try (ImageInputStream in = open(bytes)) {
      ImageReader reader = readerFor(format, in);
      List<String> warnings = new ArrayList<>();
      reader.addIIOReadWarningListener(collect(warnings));
      try {
        checkDimensions(format, reader);
        BufferedImage image = reader.read(0, reader.getDefaultReadParam());
        if (!warnings.isEmpty()) {
          // The JPEG readers report a truncated stream as a warning and return grey filler pixels.
          throw new ImageRejectedException(ImageRejectedException.CORRUPT_IMAGE,
              format + " decoded with errors: " + String.join("; ", warnings));
        }
        return PixelImage.from(image);
      } finally {
        reader.dispose();
      }
    } catch (IOException | RuntimeException e) {
      throw corrupt(format, e);
    }
  }

  private ImageFormat checkFormat(byte[] bytes, String contentType) throws ImageRejectedException {
    if (bytes == null || bytes.length == 0) {
      throw new ImageRejectedException(ImageRejectedException.EMPTY_IMAGE, "no image bytes");
    }
    if (bytes.length > Math.max(limits.maxInlineBytes(), limits.maxFetchBytes())) {
      throw new ImageRejectedException(ImageRejectedException.TOO_LARGE, bytes.length + " bytes exceeds the limit of "
          + Math.max(limits.maxInlineBytes(), limits.maxFetchBytes()));
    }
    Optional<ImageFormat> declared = ImageFormat.fromContentType(contentType);
    Optional<ImageFormat> sniffed = ImageFormat.sniff(bytes);
    if (sniffed.isEmpty()) {
      throw new ImageRejectedException(ImageRejectedException.NOT_AN_IMAGE,
          "bytes are not JPEG, PNG, GIF, BMP or WebP" + (contentType == null ? "" : " (declared " + contentType + ")"));
    }
    if (declared.isPresent() && declared.get() != sniffed.get()) {
      throw new ImageRejectedException(ImageRejectedException.CONTENT_TYPE_MISMATCH,
          "declared " + contentType + " but the bytes are " + sniffed.get());
    }
    checkComplete(sniffed.get(), bytes);
    return sniffed.get();
  }

  /**
   * Refuses a file whose end structure is missing: PNG without IEND, JPEG without an EOI marker, GIF
   * without its trailer, BMP or WebP shorter than the size in their header. The readers would
   * otherwise decode some truncated files without complaint (the PNG reader skips CRCs, the WebP
   * lossless reader reads past the end as zeros).
   */
  private static void checkComplete(ImageFormat format, byte[] b) throws ImageRejectedException {
    String missing = switch (format) {
      case PNG -> {
        int iend = lastIndexOf(b, PNG_IEND);
        yield iend < 0 || iend + PNG_IEND.length + 4 > b.length ? "no complete IEND chunk" : null;
      }
      case JPEG -> lastIndexOf(b, JPEG_EOI) < 0 ? "no end-of-image marker" : null;
      case GIF -> b[b.length - 1] != GIF_TRAILER ? "no trailer" : null;
      case BMP -> {
        long declared = littleEndianUnsignedInt(b, 2);
        yield declared > b.length ? "header says " + declared + " bytes" : null;
      }
      case WEBP -> {
        long declared = b.length < 8 ? Long.MAX_VALUE : littleEndianUnsignedInt(b, 4) + 8;
        yield declared > b.length ? "RIFF header says " + declared + " bytes" : null;
      }
    };
    if (missing != null) {
      throw new ImageRejectedException(ImageRejectedException.CORRUPT_IMAGE,
          format + " is truncated (" + b.length + " bytes): " + missing);
    }
  }

  private static final byte[] PNG_IEND = {'I', 'E', 'N', 'D'};
  private static final byte[] JPEG_EOI = {(byte) 0xFF, (byte) 0xD9};
  private static final byte GIF_TRAILER = 0x3B;

  private static int lastIndexOf(byte[] b, byte[] pattern) {
    outer:
    for (int i = b.length - pattern.length; i >= 0; i--) {
      for (int j = 0; j < pattern.length; j++) {
        if (b[i + j] != pattern[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  private static long littleEndianUnsignedInt(byte[] b, int at) {
    return (b[at] & 0xFFL) | (b[at + 1] & 0xFFL) << 8 | (b[at + 2] & 0xFFL) << 16 | (b[at + 3] & 0xFFL) << 24;
  }

  private ImageInfo checkDimensions(ImageFormat format, ImageReader reader) throws IOException, ImageRejectedException {
    int width = reader.getWidth(0);
    int height = reader.getHeight(0);
    if (width <= 0 || height <= 0) {
      throw new ImageRejectedException(ImageRejectedException.CORRUPT_IMAGE,
          format + " header says " + width + "x" + height);
    }
    ImageInfo info = new ImageInfo(format, width, height);
    if (width > limits.maxDimension() || height > limits.maxDimension()) {
      throw new ImageRejectedException(ImageRejectedException.DIMENSIONS_TOO_LARGE,
          format + " of " + width + "x" + height + " exceeds the largest side of " + limits.maxDimension());
    }
    if (info.pixels() > limits.maxPixels()) {
      throw new ImageRejectedException(ImageRejectedException.TOO_MANY_PIXELS,
          format + " of " + width + "x" + height + " exceeds " + limits.maxPixels() + " pixels");
    }
    return info;
  }

  private static ImageInputStream open(byte[] bytes) throws IOException {
    ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes));
    if (in == null) {
      throw new IOException("no image input stream");
    }
    return in;
  }

  private static ImageReader readerFor(ImageFormat format, ImageInputStream in) throws ImageRejectedException {
    Iterator<ImageReader> readers = ImageIO.getImageReadersByMIMEType(format.mimeType());
    if (!readers.hasNext()) {
      throw new ImageRejectedException(ImageRejectedException.UNSUPPORTED_FORMAT, "no decoder for " + format);
    }
    ImageReader reader = readers.next();
    reader.setInput(in, true, true);
    return reader;
  }

  private static ImageRejectedException corrupt(ImageFormat format, Exception e) {
    return new ImageRejectedException(ImageRejectedException.CORRUPT_IMAGE,
        format + " cannot be decoded: " + e.getMessage(), e);
  }

  private static IIOReadWarningListener collect(List<String> warnings) {
    return (source, warning) -> warnings.add(warning);
  }
}
