package io.mmstream.worker;

import io.mmstream.image.PixelImage;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TaskRequest;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes inline image bytes with JDK ImageIO, with a byte limit, a pixel limit checked from the
 * header before any pixel is decoded, and decoder warnings (truncated data) treated as failures.
 *
 * <p>The worker's own minimal loader: it is meant to be replaced by image-io's shared decoder and
 * fetcher (URIs with their SSRF guard). Until then a URI source is rejected.
 */
public final class InlineImageLoader implements ImageLoader {
  private final long maxBytes;
  private final long maxPixels;

  public InlineImageLoader(long maxBytes, long maxPixels) {
    this.maxBytes = maxBytes;
    this.maxPixels = maxPixels;
  }

  @Override
  public PixelImage load(TaskRequest request) throws TaskRejectedException {
    Object source = request.getSource();
    if (source instanceof ImageUri uri) {
      throw new TaskRejectedException("fetch", "URI_NOT_SUPPORTED", "this worker reads inline images only: " + uri.getUri());
    }
    ByteBuffer buffer = ((InlineImage) source).getData().duplicate();
    if (buffer.remaining() > maxBytes) {
      throw new TaskRejectedException(
          "decode", "IMAGE_TOO_LARGE", buffer.remaining() + " bytes is over the limit of " + maxBytes);
    }
    byte[] bytes = new byte[buffer.remaining()];
    buffer.get(bytes);
    return decode(bytes);
  }

  private PixelImage decode(byte[] bytes) throws TaskRejectedException {
    try (ImageInputStream input = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(input);
      if (!readers.hasNext()) {
        throw new TaskRejectedException("decode", "UNSUPPORTED_FORMAT", "no decoder recognises these " + bytes.length + " bytes");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(input, true, true);
        long width = reader.getWidth(0);
        long height = reader.getHeight(0);
        if (width * height > maxPixels) {
          throw new TaskRejectedException(
              "decode", "PIXEL_LIMIT_EXCEEDED", width + "x" + height + " is over the limit of " + maxPixels + " pixels");
        }
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((r, warning) -> warnings.add(warning));
        BufferedImage image = reader.read(0);
        if (!warnings.isEmpty()) {
          throw new TaskRejectedException("decode", "CORRUPT_IMAGE", "decoder warning: " + String.join("; ", warnings));
        }
        return PixelImage.from(image);
      } finally {
        reader.dispose();
      }
    } catch (EOFException e) {
      throw new TaskRejectedException("decode", "CORRUPT_IMAGE", "image data ends early: " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw new TaskRejectedException("decode", "CORRUPT_IMAGE", "cannot decode: " + e, e);
    }
  }
}
