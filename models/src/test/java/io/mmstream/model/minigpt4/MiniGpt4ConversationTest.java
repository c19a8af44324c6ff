package io.mmstream.model.minigpt4;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.generation.ChatTurn;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The CONV_VISION template against the original's prompt texts in golden.json, and Chat.answer's clean-up. */
class MiniGpt4ConversationTest {
  private static final MiniGpt4Conversation CONV = MiniGpt4Conversation.VISION;

  static List<ChatTurn> history(JsonNode c) {
    List<ChatTurn> out = new ArrayList<>();
    c.get("history").forEach(t -> out.add(new ChatTurn(t.get(0).asText(), t.get(1).asText())));
    return out;
  }

  @Test
  void promptsAndSegmentsAreTheOriginals() throws IOException {
    try (MiniGpt4Fixture fixture = new MiniGpt4Fixture()) {
      assertThat(CONV.system()).isEqualTo(fixture.json().get("system").asText());
      int multiTurn = 0;
      for (JsonNode c : fixture.cases()) {
        String prompt = CONV.prompt(history(c), c.get("prompt").asText());
        assertThat(prompt).as(c.get("name").asText()).isEqualTo(c.get("conversation_prompt").asText());
        List<String> segments = new ArrayList<>();
        c.get("prompt_segments").forEach(s -> segments.add(s.asText()));
        assertThat(CONV.segments(prompt)).isEqualTo(segments);
        multiTurn += c.get("history").size() > 0 ? 1 : 0;
      }
      assertThat(multiTurn).as("multi-turn cases pin the history layout").isEqualTo(2);
    }
  }

  @Test
  void emptyEarlierAnswerIsTheBareRole() {
    String prompt = CONV.prompt(List.of(new ChatTurn("Hi", "")), "Again?");
    assertThat(prompt).endsWith("###Human: <Img><ImageHere></Img> Hi###Assistant:Human: Again?###Assistant:");
  }

  @Test
  void answerIsCutAtTheSeparatorAfterTheLastRoleAndStripped() {
    assertThat(CONV.answer(" A red circle.###Human: what?")).isEqualTo("A red circle.");
    assertThat(CONV.answer("x Assistant: it is red\u001e ")).isEqualTo("it is red");
    assertThat(CONV.answer("\u00a0plain\u0085")).isEqualTo("plain");
  }
}
