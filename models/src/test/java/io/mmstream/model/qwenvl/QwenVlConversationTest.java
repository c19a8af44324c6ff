package io.mmstream.model.qwenvl;

import static org.assertj.core.api.Assertions.assertThat;

import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.GenerationRequest;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Where request images land in Qwen-VL's text. */
class QwenVlConversationTest {
  private static final PixelImage PIXEL = new PixelImage(1, 1, 3, new byte[3]);

  @Test
  void fromListFormatNumbersPicturesWithASpace() {
    assertThat(QwenVlConversation.fromListFormat(List.of("a.png", "b.png"), "Compare."))
        .isEqualTo("Picture 1: <img>a.png</img>\nPicture 2: <img>b.png</img>\nCompare.");
  }

  @Test
  void anImageThePromptAlreadyNamesIsNotAddedAgain() {
    String prompt = "Picture 1: <img>images/x.png</img>\nDescribe.";
    QwenVlConversation c = QwenVlConversation.of(new GenerationRequest(List.of(PIXEL),
        List.of(Path.of("images/x.png").toAbsolutePath().toString()), prompt, List.of(), false));
    assertThat(c.query()).isEqualTo(prompt);
    assertThat(c.supplied()).containsOnlyKeys("images/x.png");
  }

  @Test
  void anUnnamedImageGoesIntoTheFirstUserTurn() {
    QwenVlConversation alone = QwenVlConversation.of(new GenerationRequest(List.of(PIXEL), "Describe.", List.of()));
    assertThat(alone.query()).isEqualTo("Picture 1: <img>image-1</img>\nDescribe.");
    assertThat(alone.supplied()).containsOnlyKeys("image-1");

    QwenVlConversation followUp = QwenVlConversation.of(new GenerationRequest(List.of(PIXEL), List.of("cat.png"),
        "And its colour?", List.of(new ChatTurn("What is it?", "A cat.")), false));
    assertThat(followUp.query()).isEqualTo("And its colour?");
    assertThat(followUp.history()).containsExactly(new ChatTurn("Picture 1: <img>cat.png</img>\nWhat is it?", "A cat."));
  }

  @Test
  void namedImagesAreReadInOrder() {
    assertThat(QwenVlConversation.namedImages("<img>a</img> x <img>b/c.png</img>")).containsExactly("a", "b/c.png");
  }
}
