package io.mmstream.model.llava;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * llava-tiny through the VisionLanguageModel contract, from text: the template and tokenizer give the original's
 * prompt ids, greedy ids and reply text exact, step logits within atol, streaming, and history trimming.
 */
class LlavaChatModelTest {
  private static NDManager manager;
  private static LlavaFixture fixture;
  private static VisionLanguageModel model;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new LlavaFixture();
    model = VisionLanguageModels.load(LlavaFixture.DIR, manager);
  }

  @AfterAll
  static void close() throws IOException {
    model.close();
    fixture.close();
    manager.close();
  }

  @Test
  void everyCaseFromTextGivesTheOriginalsIdsAndText() throws IOException {
    assertThat(model.modelType()).isEqualTo("llava/llama");
    assertThat(model.supportsHistory()).isTrue();
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      GenerationRequest request = new GenerationRequest(List.of(LlavaFixture.image(c.get("image").asText())),
          c.get("prompt").asText(), LlavaFixture.history(c));
      List<String> streamed = new ArrayList<>();
      DecodingOptions options = DecodingOptions.greedy(c.get("max_new_tokens").asInt()).withLogits()
          .withTextSink(streamed::add);
      GeneratedText out = model.generate(List.of(request), options).get(0);
      assertThat(out.promptIds()).as(name + " prompt ids").containsExactly(LlavaFixture.longs(c.get("prompt_ids")));
      assertThat(out.ids()).as(name + " ids").containsExactly(LlavaFixture.longs(c.get("greedy_new_ids")));
      assertThat(out.text()).as(name + " text").isEqualTo(c.get("greedy_text").asText().strip());
      assertThat(String.join("", streamed)).as(name + " streamed").isEqualTo(c.get("greedy_text").asText());
      assertThat(out.droppedTurns()).isZero();
      try (NDManager m = manager.newSubManager()) {
        float[][] steps = out.stepLogits();
        float[] flat = new float[steps.length * steps[0].length];
        for (int i = 0; i < steps.length; i++) {
          System.arraycopy(steps[i], 0, flat, i * steps[0].length, steps[0].length);
        }
        fixture.assertMatches(m.create(flat).reshape(steps.length, steps[0].length), "cases." + name + ".step_logits");
      }
    }
  }

  @Test
  void historyLongerThanTheContextLosesItsOldestTurns() throws IOException {
    JsonNode c0 = fixture.cases().get(0);
    LlavaChatModel llava = (LlavaChatModel) model;
    LlavaConfig config = llava.model().config();
    List<ChatTurn> history = new ArrayList<>();
    String longReply = "the picture shows a shape on a plain background, ".repeat(12);
    for (int i = 0; i < 20; i++) {
      history.add(new ChatTurn("question number " + i + "?", longReply));
    }
    GenerationRequest request = new GenerationRequest(List.of(LlavaFixture.image(c0.get("image").asText())),
        "What color is the shape?", history);
    GeneratedText out = model.generate(List.of(request), DecodingOptions.greedy(4)).get(0);
    int context = config.text().maxPositionEmbeddings();
    int image = config.imageTokens();
    int positions = out.promptIds().length - 1 + image;
    assertThat(out.droppedTurns()).isPositive().isLessThan(history.size());
    assertThat(positions + 4).isLessThanOrEqualTo(context);
    List<ChatTurn> kept = history.subList(out.droppedTurns(), history.size());
    long[] keptIds = llava.promptIds(
        LlavaConversation.LLAVA_V1.prompt(kept, "What color is the shape?", true));
    assertThat(out.promptIds()).containsExactly(keptIds);
    List<ChatTurn> oneMore = history.subList(out.droppedTurns() - 1, history.size());
    long[] tooLong = llava.promptIds(
        LlavaConversation.LLAVA_V1.prompt(oneMore, "What color is the shape?", true));
    assertThat(tooLong.length - 1 + image + 4).as("one more turn would not fit").isGreaterThan(context);
  }
}
