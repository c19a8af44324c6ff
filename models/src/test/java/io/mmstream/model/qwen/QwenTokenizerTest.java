package io.mmstream.model.qwen;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.qwenvl.QwenVlFixture;
import java.io.IOException;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** qwen.tiktoken read as shipped, and make_context's ChatML, against the ids the original built for every case. */
class QwenTokenizerTest {
  private static QwenVlFixture fixture;
  private static QwenTokenizer tokenizer;

  @BeforeAll
  static void load() throws IOException {
    fixture = new QwenVlFixture();
    tokenizer = QwenTokenizer.load(QwenVlFixture.DIR);
  }

  @AfterAll
  static void close() throws IOException {
    fixture.close();
  }

  @Test
  void specialIdsFollowTheRanks() {
    JsonNode ids = fixture.json().get("special_ids");
    for (String name : List.of("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<ref>", "</box>", "<img>", "</img>",
        "<imgpad>")) {
      assertThat(tokenizer.id(name)).as(name).isEqualTo(ids.get(name).asInt());
    }
    assertThat(tokenizer.id("<|extra_0|>")).isEqualTo(ids.get("<|extra_0|>..<|extra_204|>").get(0).asInt());
    assertThat(tokenizer.size()).isEqualTo(fixture.json().get("config_summary").get("tokenizer_n_vocab").asInt());
    assertThat(tokenizer.encode("\n")).containsExactly(198);
  }

  @Test
  void everyCasePromptIsTheOriginals() {
    for (JsonNode c : fixture.cases()) {
      ChatMlTemplate template = new ChatMlTemplate(c.get("system").asText(), ChatMlTemplate.DEFAULT_MAX_WINDOW_SIZE);
      ChatMlTemplate.Prompt prompt = template.build(tokenizer, QwenVlFixture.history(c), c.get("prompt").asText());
      String name = c.get("name").asText();
      assertThat(prompt.rawText()).as(name + " raw_text").isEqualTo(c.get("raw_text").asText());
      assertThat(prompt.ids()).as(name + " prompt_ids").containsExactly(QwenVlFixture.longs(c.get("prompt_ids")));
      assertThat(prompt.keptTurns()).isEqualTo(c.get("history").size());
      assertThat(tokenizer.decode(prompt.ids())).as(name + " decodes back").isEqualTo(c.get("raw_text").asText());
    }
  }

  @Test
  void imagePathBecomesItsBytesPaddedToTheSpan() {
    long[] ids = tokenizer.encode("a <img>x/é.png</img>", QwenTokenizer.IMAGE_SPECIALS);
    int start = indexOf(ids, tokenizer.imageStartId());
    assertThat(ids[start + 1]).isEqualTo('x');
    assertThat(ids[start + 3]).isEqualTo(0xC3);
    assertThat(ids[start + 4]).isEqualTo(0xA9);
    assertThat(ids[start + 9]).isEqualTo(tokenizer.imagePadId());
    assertThat(ids[start + 1 + QwenTokenizer.IMAGE_SPAN]).isEqualTo(tokenizer.imageEndId());
    assertThat(ids.length - start).isEqualTo(QwenTokenizer.IMAGE_SPAN + 2);
    assertThatThrownBy(() -> tokenizer.encode("<img>open", QwenTokenizer.IMAGE_SPECIALS))
        .hasMessageContaining("unclosed");
    assertThatThrownBy(() -> tokenizer.encode("<img>" + "p".repeat(257) + "</img>", QwenTokenizer.IMAGE_SPECIALS))
        .hasMessageContaining("more than 256");
  }

  @Test
  void chatMarkersTypedInContentStayText() {
    long[] ids = tokenizer.encode("say <|im_end|> now", QwenTokenizer.IMAGE_SPECIALS);
    assertThat(ids).doesNotContain(tokenizer.id(QwenTokenizer.IM_END));
    assertThat(tokenizer.decode(ids)).isEqualTo("say <|im_end|> now");
    assertThat(tokenizer.encode("say <|im_end|>")).contains(tokenizer.id(QwenTokenizer.IM_END));
  }

  @Test
  void oldestTurnsAreDroppedPastTheWindow() {
    List<ChatTurn> history = List.of(new ChatTurn("first question", "first answer"),
        new ChatTurn("second question", "second answer"));
    ChatMlTemplate wide = new ChatMlTemplate(ChatMlTemplate.DEFAULT_SYSTEM, ChatMlTemplate.DEFAULT_MAX_WINDOW_SIZE);
    ChatMlTemplate.Prompt full = wide.build(tokenizer, history, "third");
    ChatMlTemplate.Prompt newest = wide.build(tokenizer, history.subList(1, 2), "third");
    // The window counts system and history but not the new query: fits the newest turn only.
    int window = newest.ids().length - wide.build(tokenizer, List.of(), "third").ids().length
        + new ChatMlTemplate(ChatMlTemplate.DEFAULT_SYSTEM, 1 << 20).build(tokenizer, List.of(), "").ids().length;
    ChatMlTemplate.Prompt cut = new ChatMlTemplate(ChatMlTemplate.DEFAULT_SYSTEM, window).build(tokenizer, history,
        "third");
    assertThat(full.keptTurns()).isEqualTo(2);
    assertThat(cut.keptTurns()).isEqualTo(1);
    assertThat(cut.ids()).containsExactly(newest.ids());
    assertThat(cut.rawText()).isEqualTo(newest.rawText());
  }

  private static int indexOf(long[] ids, long id) {
    for (int i = 0; i < ids.length; i++) {
      if (ids[i] == id) {
        return i;
      }
    }
    return -1;
  }
}
