package io.mmstream.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.config.Settings;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class ImageDecoderTest {

  private final ImageDecoder decoder = new ImageDecoder(ImageLimits.defaults());

  @ParameterizedTest
  @CsvSource({"png,image/png,PNG", "jpeg,image/jpeg,JPEG", "gif,image/gif,GIF", "bmp,image/bmp,BMP"})
  void decodesEveryFormatTheJdkCanWrite(String writer, String contentType, ImageFormat format) throws Exception {
    byte[] bytes = TestImages.encode(writer, 40, 30);

    assertThat(decoder.probe(bytes, contentType)).isEqualTo(new ImageInfo(format, 40, 30));
    PixelImage pixels = decoder.decode(bytes, contentType);
    assertThat(pixels.width()).isEqualTo(40);
    assertThat(pixels.height()).isEqualTo(30);
    assertThat(pixels.channels()).isEqualTo(3);
    // corner red, centre blue, whatever the codec's losses
    assertThat(pixels.sample(0, 0, 0)).isGreaterThan(200);
    assertThat(pixels.sample(20, 15, 2)).isGreaterThan(200);
  }

  @Test
  void decodesWebp() throws Exception {
    assertThat(decoder.probe(TestImages.WEBP_1X1, "image/webp")).isEqualTo(new ImageInfo(ImageFormat.WEBP, 1, 1));
    assertThat(decoder.decode(TestImages.WEBP_1X1, null).width()).isEqualTo(1);
  }

  @Test
  void contentTypeIsOptionalButMustAgreeWithTheBytes() throws Exception {
    byte[] png = TestImages.encode("png", 8, 8);
    assertThat(decoder.probe(png, null).format()).isEqualTo(ImageFormat.PNG);
    assertThat(decoder.probe(png, "application/octet-stream").format()).isEqualTo(ImageFormat.PNG);
    assertRejected(() -> decoder.probe(png, "image/jpeg"), ImageRejectedException.CONTENT_TYPE_MISMATCH);
    assertRejected(() -> decoder.probe(png, "image/tiff"), ImageRejectedException.UNSUPPORTED_FORMAT);
  }

  @Test
  void textLabelledAsPngIsNotAnImage() {
    byte[] text = "<html><body>not an image</body></html>".getBytes(StandardCharsets.UTF_8);
    assertRejected(() -> decoder.probe(text, "image/png"), ImageRejectedException.NOT_AN_IMAGE);
    assertRejected(() -> decoder.decode(new byte[0], "image/png"), ImageRejectedException.EMPTY_IMAGE);
  }

  @Test
  void pixelBombIsRefusedFromTheHeader() {
    byte[] bomb = TestImages.pngHeaderClaiming(100_000, 100_000);
    assertThat(bomb.length).isLessThan(100);
    assertRejected(() -> decoder.probe(bomb, "image/png"), ImageRejectedException.DIMENSIONS_TOO_LARGE);
    byte[] wideButAllowedSides = TestImages.pngHeaderClaiming(16_000, 16_000);
    assertRejected(() -> decoder.decode(wideButAllowedSides, "image/png"), ImageRejectedException.TOO_MANY_PIXELS);
  }

  @Test
  void oversizedBytesAreRefused() {
    ImageDecoder small = new ImageDecoder(ImageLimits.from(Settings.of(Map.of(
        "mmstream.images.max-inline-bytes", "1000", "mmstream.images.max-fetch-bytes", "1000"))));
    assertRejected(() -> small.probe(TestImages.encode("bmp", 100, 100), "image/bmp"), ImageRejectedException.TOO_LARGE);
  }

  @ParameterizedTest
  @CsvSource({"png,image/png", "jpeg,image/jpeg", "gif,image/gif", "bmp,image/bmp"})
  void truncatedFilesAreCorrupt(String writer, String contentType) throws Exception {
    byte[] bytes = TestImages.encode(writer, 64, 64);
    byte[] truncated = Arrays.copyOf(bytes, bytes.length * 2 / 3);
    assertThat(decoder.probe(truncated, contentType).width()).isEqualTo(64);
    assertRejected(() -> decoder.decode(truncated, contentType), ImageRejectedException.CORRUPT_IMAGE);
  }

  @Test
  void headerWithZeroSizeIsCorrupt() {
    assertRejected(() -> decoder.probe(TestImages.pngHeaderClaiming(0, 10), "image/png"),
        ImageRejectedException.CORRUPT_IMAGE);
  }

  interface Action {
    void run() throws Exception;
  }

  static void assertRejected(Action action, String reasonCode) {
    assertThatThrownBy(action::run)
        .isInstanceOfSatisfying(ImageRejectedException.class, e -> assertThat(e.reasonCode()).isEqualTo(reasonCode));
  }
}
