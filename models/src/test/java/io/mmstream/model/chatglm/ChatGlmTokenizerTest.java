package io.mmstream.model.chatglm;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.visualglm.VisualGlmFixture;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.Test;

/** ChatGLM's tokenizer over the fixture's ice_text.model against the original's ids and replies. */
class ChatGlmTokenizerTest {

  @Test
  void everyPromptSegmentEncodesAsTheOriginal() throws IOException {
    ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(VisualGlmFixture.DIR);
    try (VisualGlmFixture fixture = new VisualGlmFixture()) {
      int segments = 0;
      for (JsonNode c : fixture.cases()) {
        for (JsonNode segment : c.get("prompt_segments")) {
          if (segment.has("text")) {
            assertThat(tokenizer.encode(segment.get("text").asText())).as(segment.get("text").asText())
                .isEqualTo(VisualGlmFixture.longs(segment.get("ids")));
            segments++;
          }
        }
      }
      assertThat(segments).isEqualTo(10);
    }
  }

  @Test
  void generatedIdsDecodeToTheOriginalsReplies() throws IOException {
    ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(VisualGlmFixture.DIR);
    try (VisualGlmFixture fixture = new VisualGlmFixture()) {
      for (JsonNode c : fixture.cases()) {
        String decoded = tokenizer.decode(VisualGlmFixture.longs(c.get("greedy_new_ids")));
        assertThat(ChatGlmResponse.clean(decoded)).as(c.get("name").asText()).isEqualTo(c.get("response").asText());
      }
    }
  }

  @Test
  void whitespaceBecomesTheVocabularysPiecesAndComesBack() throws IOException {
    ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(VisualGlmFixture.DIR);
    String text = "a\tb\n" + " ".repeat(81) + "c";
    long[] ids = tokenizer.encode(text);
    assertThat(ids).contains(tokenizer.tokenId("<|tab|>"), tokenizer.tokenId("<n>"),
        tokenizer.tokenId("<|blank_80|>"));
    assertThat(tokenizer.decode(ids)).isEqualTo(text);
  }

  @Test
  void specialTokenStringsAreNotSplitAndEatAdjacentSpaces() throws IOException {
    ChatGlmTokenizer tokenizer = ChatGlmTokenizer.load(VisualGlmFixture.DIR);
    assertThat(ChatGlmText.splitSpecial("a <eop> b<sop>", List.of("<sop>", "<eop>")))
        .containsExactly(new ChatGlmText.Chunk("a", false), new ChatGlmText.Chunk("<eop>", true),
            new ChatGlmText.Chunk("b", false), new ChatGlmText.Chunk("<sop>", true));
    long[] ids = tokenizer.encode("a <eop> b");
    assertThat(ids).containsSubsequence(tokenizer.tokenId("<eop>"));
    assertThat(ids).doesNotContain(tokenizer.tokenId("<"));
  }
}
