package io.mmstream.model.visualglm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import org.junit.jupiter.api.Test;

/** The chat prompt's text against every case of visualglm-tiny (multi-turn ones included). */
class VisualGlmChatTemplateTest {

  @Test
  void segmentsAreTheOriginalsPromptSegments() throws IOException {
    try (VisualGlmFixture fixture = new VisualGlmFixture()) {
      for (JsonNode c : fixture.cases()) {
        boolean image = VisualGlmFixture.hasImage(c);
        VisualGlmChatTemplate.Segments s = VisualGlmChatTemplate.ORIGINAL.segments(
            image, VisualGlmFixture.history(c), c.get("prompt").asText());
        JsonNode golden = c.get("prompt_segments");
        String name = c.get("name").asText();
        if (image) {
          assertThat(s.beforeImage()).as(name).isEqualTo(golden.get(0).get("text").asText());
          assertThat(s.afterImage()).as(name).isEqualTo(golden.get(2).get("text").asText());
          // The original's prompt string is the same text with the image path inside the tags.
          assertThat(s.beforeImage() + c.get("image").asText() + s.afterImage())
              .isEqualTo(c.get("prompt_string").asText());
        } else {
          assertThat(s.beforeImage()).isEmpty();
          assertThat(s.afterImage()).as(name).isEqualTo(golden.get(0).get("text").asText())
              .isEqualTo(c.get("prompt_string").asText());
        }
      }
    }
  }
}
