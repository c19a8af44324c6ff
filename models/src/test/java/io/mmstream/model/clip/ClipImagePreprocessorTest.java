package io.mmstream.model.clip;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.image.PixelImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class ClipImagePreprocessorTest {
  private static final String JPEG = "07_red_circle_300x200_q90.jpg";
  private static final String JPEG_AS_PIL_DECODES_IT = "reference/07_red_circle_300x200_q90.decoded.png";
  private static ClipFixture fixture;
  private final ClipImagePreprocessor preprocessor = new ClipImagePreprocessor(224);

  @BeforeAll
  static void loadFixture() throws Exception {
    fixture = ClipFixture.load();
  }

  static PixelImage read(Path file) throws IOException {
    return PixelImage.from(ImageIO.read(file.toFile()));
  }

  @Test
  void pixelValuesOfEveryPngMatchTheGolden() throws Exception {
    List<String> files = fixture.imageFiles();
    int checked = 0;
    for (int i = 0; i < files.size(); i++) {
      if (files.get(i).endsWith(".png")) {
        float[] values = preprocessor.pixelValues(read(ClipFixture.IMAGES.resolve(files.get(i))));
        assertThat(maxAbsDiff(values, i)).as(files.get(i)).isLessThanOrEqualTo(fixture.tolerance("pixel_values"));
        checked++;
      }
    }
    assertThat(checked).isEqualTo(6);
  }

  @Test
  void theJpegAsPilDecodedItMatchesTheGolden() throws Exception {
    int index = fixture.imageFiles().indexOf(JPEG);
    float[] values = preprocessor.pixelValues(read(ClipFixture.IMAGES.resolve(JPEG_AS_PIL_DECODES_IT)));
    assertThat(maxAbsDiff(values, index)).isLessThanOrEqualTo(fixture.tolerance("pixel_values"));
  }

  /**
   * The JDK decodes JPEG with IJG libjpeg code (islow IDCT, fancy chroma upsampling), as PIL's
   * libjpeg-turbo does by default: on the fixture's 4:2:0 JPEG the two agree on every sample, so the
   * JPEG's pixel_values match the golden as the PNGs do. Other encoders' files may differ by a few
   * levels where libjpeg-turbo's SIMD paths round differently.
   */
  @Test
  void jdkJpegDecoderMatchesLibjpegAndTheGolden() throws Exception {
    PixelImage jdk = read(ClipFixture.IMAGES.resolve(JPEG));
    PixelImage pil = read(ClipFixture.IMAGES.resolve(JPEG_AS_PIL_DECODES_IT));
    assertThat(jdk.channels()).isEqualTo(3);
    assertThat(jdk.pixels()).isEqualTo(pil.pixels());
    float[] values = preprocessor.pixelValues(jdk);
    assertThat(maxAbsDiff(values, fixture.imageFiles().indexOf(JPEG)))
        .isLessThanOrEqualTo(fixture.tolerance("pixel_values"));
  }

  @Test
  void shortSideResizeTruncatesAndCropRoundsHalfToEven() {
    ClipImagePreprocessor b = new ClipImagePreprocessor(64);
    // 640x480 -> 85x64: left = (85 - 64) / 2 = 10.5, which Python rounds to 10 (Math.round would give 11).
    byte[] pixels = new byte[640 * 480];
    for (int y = 0; y < 480; y++) {
      for (int x = 0; x < 640; x++) {
        pixels[y * 640 + x] = (byte) (x * 255 / 639);
      }
    }
    PixelImage cropped = b.resizeAndCrop(new PixelImage(640, 480, 1, pixels));
    assertThat(cropped.width()).isEqualTo(64);
    assertThat(cropped.channels()).isEqualTo(3);
    PixelImage resized = io.mmstream.image.PilResampler.resizeBicubic(new PixelImage(640, 480, 1, pixels), 85, 64);
    for (int x = 0; x < 64; x++) {
      assertThat(cropped.sample(x, 5, 0)).isEqualTo(resized.sample(x + 10, 5, 0));
      assertThat(cropped.sample(x, 5, 2)).isEqualTo(resized.sample(x + 10, 5, 0));
    }
  }

  private static double maxAbsDiff(float[] values, int image) {
    ClipFixture.Tensor golden = fixture.tensor("pixel_values");
    int perImage = golden.rowLength();
    assertThat(values).hasSize(perImage);
    double max = 0;
    for (int i = 0; i < perImage; i++) {
      max = Math.max(max, Math.abs(values[i] - golden.values()[image * perImage + i]));
    }
    return max;
  }
}
