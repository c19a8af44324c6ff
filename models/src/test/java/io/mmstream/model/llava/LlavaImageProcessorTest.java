package io.mmstream.model.llava;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.image.PixelImage;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** expand2square and the resize, byte for byte against the images the original produced (images/preprocessed). */
class LlavaImageProcessorTest {
  private final LlavaImageProcessor processor = new LlavaImageProcessor(28, 28,
      new double[] {0.48145466, 0.4578275, 0.40821073}, new double[] {0.26862954, 0.26130258, 0.27577711});

  @Test
  void nonSquareImageIsPaddedWithTheTruncatedMeanColour() throws IOException {
    PixelImage padded = processor.expandToSquare(LlavaFixture.image("images/gradient_90x58.png"));
    PixelImage expected = LlavaFixture.image("images/preprocessed/gradient_90x58_padded_square.png").toRgb();
    assertThat(padded.width()).isEqualTo(90);
    assertThat(padded.pixels()).isEqualTo(expected.pixels());
    assertThat(new int[] {padded.sample(0, 0, 0), padded.sample(0, 0, 1), padded.sample(0, 0, 2)})
        .containsExactly(122, 116, 104);
  }

  @Test
  void resizedSquaresEqualTheOriginals() throws IOException {
    for (String name : new String[] {"red_circle", "blue_square", "green_triangle", "gradient_90x58"}) {
      PixelImage resized = processor.squareAndResize(LlavaFixture.image("images/" + name + ".png"));
      PixelImage expected = LlavaFixture.image("images/preprocessed/" + name + "_pad_resized.png").toRgb();
      assertThat(resized.pixels()).as(name).isEqualTo(expected.pixels());
    }
  }

  @Test
  void largerResizeIsCutFromTheCentre() throws IOException {
    LlavaImageProcessor wider = new LlavaImageProcessor(33, 28,
        new double[] {0.48145466, 0.4578275, 0.40821073}, new double[] {0.26862954, 0.26130258, 0.27577711});
    PixelImage image = LlavaFixture.image("images/gradient_90x58.png");
    PixelImage cut = wider.squareAndResize(image);
    PixelImage full = io.mmstream.image.PilResampler.resizeBicubic(wider.expandToSquare(image), 33, 33);
    assertThat(cut.width()).isEqualTo(28);
    assertThat(cut.pixels()).isEqualTo(full.crop(2, 2, 28, 28).pixels());
  }
}
