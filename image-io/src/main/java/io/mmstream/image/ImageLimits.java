package io.mmstream.image;

import io.mmstream.config.Settings;
import java.time.Duration;
import java.util.List;

/** Every limit the image code enforces, from {@link ImageSettings}. */
public record ImageLimits(
    int maxInlineBytes,
    int maxFetchBytes,
    long maxPixels,
    int maxDimension,
    Duration connectTimeout,
    Duration readTimeout,
    Duration totalTimeout,
    int maxRedirects,
    boolean allowFile,
    String fileRoot,
    List<String> allowedCidrs) {

  public static ImageLimits from(Settings s) {
    return new ImageLimits(
        s.get(ImageSettings.MAX_INLINE_BYTES),
        s.get(ImageSettings.MAX_FETCH_BYTES),
        s.get(ImageSettings.MAX_PIXELS),
        s.get(ImageSettings.MAX_DIMENSION),
        Duration.ofMillis(s.get(ImageSettings.FETCH_CONNECT_TIMEOUT_MS)),
        Duration.ofMillis(s.get(ImageSettings.FETCH_READ_TIMEOUT_MS)),
        Duration.ofMillis(s.get(ImageSettings.FETCH_TOTAL_TIMEOUT_MS)),
        s.get(ImageSettings.FETCH_MAX_REDIRECTS),
        s.get(ImageSettings.FETCH_ALLOW_FILE),
        s.get(ImageSettings.FETCH_FILE_ROOT),
        s.get(ImageSettings.FETCH_ALLOWED_CIDRS));
  }

  public static ImageLimits defaults() {
    return from(Settings.empty());
  }
}
