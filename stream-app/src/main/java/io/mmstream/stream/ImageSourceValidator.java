package io.mmstream.stream;

import io.mmstream.config.Settings;
import io.mmstream.image.ImageDecoder;
import io.mmstream.image.ImageFetcher;
import io.mmstream.image.ImageFormat;
import io.mmstream.image.ImageLimits;
import io.mmstream.image.ImageRejectedException;
import io.mmstream.schema.ImageUri;
import io.mmstream.schema.InlineImage;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/**
 * Checks an image source before any model sees it, for image events and chat messages alike. Inline images are
 * checked from the header only (format, content type, dimensions against the pixel limits); decoding the pixels is
 * the workers' job. URIs must use an allowed scheme and must not name a forbidden address (a host that does not
 * resolve now is left to the fetching worker, which reports it).
 */
final class ImageSourceValidator {
  private final ImageLimits limits;
  private final ImageDecoder decoder;
  private final ImageFetcher uriChecker;

  ImageSourceValidator(Settings settings) {
    this.limits = ImageLimits.from(settings);
    this.decoder = new ImageDecoder(limits);
    this.uriChecker = new ImageFetcher(limits);
  }

  /** Checks the source ({@link InlineImage} or {@link ImageUri}); returns the content hash: sha-256 of inline bytes, or of the URI text. */
  String check(Object source, String contentType) throws ImageRejectedException {
    if (source instanceof InlineImage inline) {
      ByteBuffer data = inline.getData();
      if (data.remaining() > limits.maxInlineBytes()) {
        throw new ImageRejectedException(ImageRejectedException.TOO_LARGE,
            "inline image has " + data.remaining() + " bytes, over mmstream.images.max-inline-bytes=" + limits.maxInlineBytes());
      }
      byte[] bytes = new byte[data.remaining()];
      data.duplicate().get(bytes);
      decoder.probe(bytes, contentType);
      return sha256(bytes);
    }
    String uriText = ((ImageUri) source).getUri();
    URI uri;
    try {
      uri = new URI(uriText);
    } catch (URISyntaxException ex) {
      throw new ImageRejectedException(ImageRejectedException.BAD_URI, "not a URI: " + TenantValidator.abbreviate(uriText));
    }
    try {
      uriChecker.checkAllowed(uri);
    } catch (ImageRejectedException ex) {
      if (!ImageRejectedException.UNKNOWN_HOST.equals(ex.reasonCode())) {
        throw ex;
      }
    }
    if (contentType != null) {
      ImageFormat.fromContentType(contentType);
    }
    return sha256(uriText.getBytes(StandardCharsets.UTF_8));
  }

  static String sha256(byte[] bytes) {
    try {
      return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
