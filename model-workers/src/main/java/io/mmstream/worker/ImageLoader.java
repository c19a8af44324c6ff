package io.mmstream.worker;

import io.mmstream.image.FetchedImage;
import io.mmstream.image.ImageDecoder;
import io.mmstream.image.ImageFetcher;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.ImageRejectedException;
import io.mmstream.image.PixelImage;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import io.mmstream.schema.TaskRequest;
import java.nio.ByteBuffer;

/**
 * Turns a task's image source into pixels with the shared image code: inline bytes are decoded by
 * {@link ImageDecoder}; a URI is fetched by {@link ImageFetcher} (address guard on every hop, size
 * and time limits) and then decoded. Every refusal becomes a {@link TaskRejectedException} with
 * image-io's reason code, the same codes the stream application puts in its dead letters, and the
 * stage ({@code fetch} or {@code decode}) that refused. Thread-safe: runs on the CPU pool.
 */
public final class ImageLoader {
  static final String STAGE_FETCH = "fetch";
  static final String STAGE_DECODE = "decode";

  private final ImageLimits limits;
  private final ImageDecoder decoder;
  private final ImageFetcher fetcher;

  public ImageLoader(ImageLimits limits) {
    this.limits = limits;
    this.decoder = new ImageDecoder(limits);
    this.fetcher = new ImageFetcher(limits);
  }

  public PixelImage load(TaskRequest request) throws TaskRejectedException {
    return load(request.getSource(), request.getContentType());
  }

  /**
   * @param source an {@link InlineImage} or {@link ImageUri}, as every record with an image carries it
   * @param contentType the producer's declared type, or null
   */
  public PixelImage load(Object source, String contentType) throws TaskRejectedException {
    byte[] bytes;
    if (source instanceof ImageUri uri) {
      FetchedImage fetched;
      try {
        fetched = fetcher.fetch(uri.getUri());
      } catch (ImageRejectedException e) {
        throw rejected(STAGE_FETCH, e);
      }
      bytes = fetched.bytes();
      // The producer's declared type was checked by the stream app; the server's is the fallback.
      contentType = contentType != null ? contentType : fetched.contentType();
    } else {
      ByteBuffer data = ((InlineImage) source).getData().duplicate();
      if (data.remaining() > limits.maxInlineBytes()) {
        throw new TaskRejectedException(STAGE_DECODE, ImageRejectedException.TOO_LARGE,
            data.remaining() + " inline bytes exceed the limit of " + limits.maxInlineBytes());
      }
      bytes = new byte[data.remaining()];
      data.get(bytes);
    }
    try {
      return decoder.decode(bytes, contentType);
    } catch (ImageRejectedException e) {
      throw rejected(STAGE_DECODE, e);
    }
  }

  private static TaskRejectedException rejected(String stage, ImageRejectedException e) {
    return new TaskRejectedException(stage, e.reasonCode(), e.getMessage(), e);
  }
}
