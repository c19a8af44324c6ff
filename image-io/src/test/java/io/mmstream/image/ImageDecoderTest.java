package io.mmstream.image;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.mmstream.config.Settings;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

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

  static Stream<String> sampleNames() {
    return TestImages.samples().keySet().stream();
  }

  @Test
  void everySupportedFormatHasARegisteredReaderAndTestSamples() {
    for (ImageFormat format : ImageFormat.values()) {
      assertThat(ImageIO.getImageReadersByMIMEType(format.mimeType()).hasNext()).as("reader for %s", format).isTrue();
      assertThat(TestImages.samples().values()).as("samples of %s", format).anyMatch(s -> s.format() == format);
    }
  }

  @ParameterizedTest
  @MethodSource("sampleNames")
  void decodesEverySample(String name) throws Exception {
    TestImages.Sample sample = TestImages.samples().get(name);
    assertThat(decoder.probe(sample.bytes(), sample.format().mimeType()))
        .isEqualTo(new ImageInfo(sample.format(), sample.width(), sample.height()));
    PixelImage pixels = decoder.decode(sample.bytes(), null);
    assertThat(pixels.width()).isEqualTo(sample.width());
    assertThat(pixels.sample(0, 0, 0)).as("red corner").isGreaterThan(200);
    assertThat(pixels.sample(sample.width() / 2, sample.height() / 2, 2)).as("blue centre").isGreaterThan(200);
  }

  /** Per encoding: a claimed size whose side is too long, and one within the sides but over the pixel limit. */
  static Stream<Arguments> hugeHeaders() {
    return Stream.of(
        Arguments.of("png", 100_000, 100_000, ImageRejectedException.DIMENSIONS_TOO_LARGE),
        Arguments.of("png", 16_000, 16_000, ImageRejectedException.TOO_MANY_PIXELS),
        Arguments.of("jpeg", 65_535, 65_535, ImageRejectedException.DIMENSIONS_TOO_LARGE),
        Arguments.of("jpeg", 10_000, 10_000, ImageRejectedException.TOO_MANY_PIXELS),
        Arguments.of("gif", 65_535, 65_535, ImageRejectedException.DIMENSIONS_TOO_LARGE),
        Arguments.of("gif", 10_000, 10_000, ImageRejectedException.TOO_MANY_PIXELS),
        Arguments.of("bmp", 20_000, 20_000, ImageRejectedException.DIMENSIONS_TOO_LARGE),
        Arguments.of("bmp", 10_000, 10_000, ImageRejectedException.TOO_MANY_PIXELS),
        // VP8 and VP8L store 14-bit sizes: at most 16384 a side, so only the pixel limit applies
        Arguments.of("webp-lossy", 16_383, 16_383, ImageRejectedException.TOO_MANY_PIXELS),
        Arguments.of("webp-lossless", 16_384, 16_384, ImageRejectedException.TOO_MANY_PIXELS),
        Arguments.of("webp-extended", 1 << 24, 1 << 24, ImageRejectedException.DIMENSIONS_TOO_LARGE),
        Arguments.of("webp-extended", 10_000, 10_000, ImageRejectedException.TOO_MANY_PIXELS));
  }

  @ParameterizedTest(name = "{0} claiming {1}x{2}")
  @MethodSource("hugeHeaders")
  void hugeDimensionsAreRefusedFromTheHeaderBeforeDecoding(String sample, int width, int height, String reason) {
    byte[] bomb = TestImages.headerClaiming(sample, width, height);
    assertThat(bomb.length).isLessThan(10_000);
    assertRejected(() -> decoder.probe(bomb, null), reason);
    assertRejected(() -> decoder.decode(bomb, null), reason);
  }

  /** Every cut for small files, every 37th byte past the first 300 for larger ones. */
  static int[] cutPoints(int length) {
    return IntStream.range(1, length).filter(cut -> cut < 300 || cut % 37 == 0).toArray();
  }

  @ParameterizedTest
  @MethodSource("sampleNames")
  void everyTruncationIsRejected(String name) {
    byte[] bytes = TestImages.samples().get(name).bytes();
    for (int cut : cutPoints(bytes.length)) {
      byte[] truncated = Arrays.copyOf(bytes, cut);
      // too short for the signature: not recognisable as an image at all
      String reason = ImageFormat.sniff(truncated).isEmpty() ? ImageRejectedException.NOT_AN_IMAGE
          : ImageRejectedException.CORRUPT_IMAGE;
      assertThatThrownBy(() -> decoder.decode(truncated, null)).as("%s cut at %d of %d", name, cut, bytes.length)
          .isInstanceOfSatisfying(ImageRejectedException.class, e -> assertThat(e.reasonCode()).isEqualTo(reason));
    }
  }

  @ParameterizedTest
  @MethodSource("sampleNames")
  void flippedBytesDecodeOrAreRejectedButNeverThrowAnythingElse(String name) {
    // a flipped size bit may still claim an image within the limits: keep those small to decode
    ImageDecoder decoder = new ImageDecoder(ImageLimits.from(Settings.of(Map.of("mmstream.images.max-pixels", "100000"))));
    byte[] bytes = TestImages.samples().get(name).bytes();
    Map<String, Integer> outcomes = new TreeMap<>();
    for (int at : cutPoints(bytes.length)) {
      for (int mask : new int[] {0x01, 0x80, 0xFF}) {
        byte[] flipped = bytes.clone();
        flipped[at] ^= (byte) mask;
        String outcome;
        try {
          decoder.probe(flipped, null);
          PixelImage image = decoder.decode(flipped, null);
          assertThat(image.pixels().length).isEqualTo(image.width() * image.height() * image.channels());
          outcome = "decoded";
        } catch (ImageRejectedException e) {
          outcome = e.reasonCode();
        }
        outcomes.merge(outcome, 1, Integer::sum);
      }
    }
    // a flipped byte in entropy-coded data may only change colours; one in the structure must be caught
    assertThat(outcomes).containsKey(ImageRejectedException.CORRUPT_IMAGE);
  }

  @ParameterizedTest
  @MethodSource("sampleNames")
  void aValidSignatureFollowedByGarbageIsCorrupt(String name) {
    byte[] bytes = TestImages.samples().get(name).bytes();
    byte[] garbage = new byte[bytes.length];
    new Random(7).nextBytes(garbage);
    // keep what the sniffer and the end-of-file check look at, so the reader itself must refuse the rest
    int keep = name.startsWith("webp") ? 16 : name.equals("bmp") ? 2 : 8;
    System.arraycopy(bytes, 0, garbage, 0, keep);
    System.arraycopy(bytes, bytes.length - 16, garbage, garbage.length - 16, 16);
    if (name.equals("bmp")) {
      System.arraycopy(bytes, 0, garbage, 0, 6);
    }
    assertRejected(() -> decoder.decode(garbage, null), ImageRejectedException.CORRUPT_IMAGE);
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
