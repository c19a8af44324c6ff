package io.mmstream.model.llava;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.generation.ChatTurn;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** conv_llava_v1 against the text the original built for every fixture case (single and multi-turn). */
class LlavaConversationTest {

  @Test
  void promptTextEqualsTheOriginalsForEveryCase() throws IOException {
    try (LlavaFixture fixture = new LlavaFixture()) {
      int multiTurn = 0;
      for (JsonNode c : fixture.cases()) {
        List<ChatTurn> history = LlavaFixture.history(c);
        multiTurn += history.isEmpty() ? 0 : 1;
        assertThat(LlavaConversation.LLAVA_V1.prompt(history, c.get("prompt").asText(), true))
            .as(c.get("name").asText())
            .isEqualTo(c.get("conversation_text").asText());
      }
      assertThat(multiTurn).as("the fixture pins the multi-turn form").isPositive();
    }
  }

  @Test
  void replyEndingInEosKeepsItAndTheNextTurnAddsSep2() {
    String prompt = LlavaConversation.LLAVA_V1.prompt(List.of(new ChatTurn("q1", "a1</s>")), "q2", true);
    assertThat(prompt).endsWith("USER: <image>\nq1 ASSISTANT: a1</s></s>USER: q2 ASSISTANT:");
  }

  @Test
  void withoutAnImageNoPlaceholderIsWritten() {
    assertThat(LlavaConversation.LLAVA_V1.prompt(List.of(), "hi", false)).doesNotContain("<image>")
        .endsWith("USER: hi ASSISTANT:");
  }
}
