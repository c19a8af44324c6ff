package io.mmstream.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

class PilResamplerTest {
  private static final Path IMAGES =
      Path.of(System.getProperty("mmstream.fixtures", "../fixtures"), "blip", "blip-tiny-caption", "images");

  static Stream<String> images() {
    return Stream.of("red_circle.png", "blue_square.png", "green_triangle.png", "gradient.png");
  }

  @ParameterizedTest
  @MethodSource("images")
  void bicubicResizeEqualsPillowBitForBit(String name) throws IOException {
    PixelImage source = PixelImage.from(ImageIO.read(Files.newInputStream(IMAGES.resolve(name)))).toRgb();
    PixelImage expected = PixelImage.from(ImageIO.read(Files.newInputStream(IMAGES.resolve("resized").resolve(name))));

    PixelImage resized = PilResampler.resizeBicubic(source, 96, 96);

    assertThat(resized.width()).isEqualTo(96);
    assertThat(resized.height()).isEqualTo(96);
    assertThat(resized.pixels()).isEqualTo(expected.pixels());
  }
}
