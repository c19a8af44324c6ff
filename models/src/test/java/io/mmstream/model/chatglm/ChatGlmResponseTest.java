package io.mmstream.model.chatglm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.visualglm.VisualGlmFixture;
import java.io.IOException;
import org.junit.jupiter.api.Test;

class ChatGlmResponseTest {

  @Test
  void matchesTheOriginalsProcessResponseExamples() throws IOException {
    try (VisualGlmFixture fixture = new VisualGlmFixture()) {
      JsonNode examples = fixture.json().get("process_response_examples");
      assertThat(examples.size()).isGreaterThan(3);
      for (JsonNode e : examples) {
        assertThat(ChatGlmResponse.clean(e.get(0).asText())).as(e.get(0).asText()).isEqualTo(e.get(1).asText());
      }
    }
  }
}
