package io.mmstream.image;

import java.util.Locale;
import java.util.Optional;

/** The decodable formats, recognised by their magic bytes. */
public enum ImageFormat {
  JPEG("image/jpeg"),
  PNG("image/png"),
  GIF("image/gif"),
  BMP("image/bmp"),
  WEBP("image/webp");

  private final String mimeType;

  ImageFormat(String mimeType) {
    this.mimeType = mimeType;
  }

  public String mimeType() {
    return mimeType;
  }

  /** The format whose signature starts {@code bytes}. */
  public static Optional<ImageFormat> sniff(byte[] b) {
    if (b.length >= 3 && (b[0] & 0xFF) == 0xFF && (b[1] & 0xFF) == 0xD8 && (b[2] & 0xFF) == 0xFF) {
      return Optional.of(JPEG);
    }
    if (startsWith(b, 0, new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'})) {
      return Optional.of(PNG);
    }
    if (startsWith(b, 0, "GIF87a".getBytes()) || startsWith(b, 0, "GIF89a".getBytes())) {
      return Optional.of(GIF);
    }
    if (b.length >= 26 && b[0] == 'B' && b[1] == 'M') {
      return Optional.of(BMP);
    }
    if (startsWith(b, 0, "RIFF".getBytes()) && startsWith(b, 8, "WEBP".getBytes())) {
      return Optional.of(WEBP);
    }
    return Optional.empty();
  }

  /**
   * The format a declared content type names; empty for "unspecified" types (none, octet-stream).
   *
   * @throws ImageRejectedException UNSUPPORTED_FORMAT for any other type
   */
  public static Optional<ImageFormat> fromContentType(String contentType) throws ImageRejectedException {
    if (contentType == null) {
      return Optional.empty();
    }
    String type = contentType.split(";", 2)[0].trim().toLowerCase(Locale.ROOT);
    return switch (type) {
      case "", "application/octet-stream", "binary/octet-stream" -> Optional.empty();
      case "image/jpeg", "image/jpg", "image/pjpeg" -> Optional.of(JPEG);
      case "image/png", "image/x-png" -> Optional.of(PNG);
      case "image/gif" -> Optional.of(GIF);
      case "image/bmp", "image/x-bmp", "image/x-ms-bmp" -> Optional.of(BMP);
      case "image/webp" -> Optional.of(WEBP);
      default -> throw new ImageRejectedException(ImageRejectedException.UNSUPPORTED_FORMAT,
          "content type " + contentType + " is not one of JPEG, PNG, GIF, BMP, WebP");
    };
  }

  private static boolean startsWith(byte[] b, int offset, byte[] prefix) {
    if (b.length < offset + prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (b[offset + i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }
}
