package io.mmstream.model.visualglm;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * VisualGLM through {@link VisionLanguageModels} from text and PNG files, as {@code chat()} is used: prompt ids,
 * greedy ids, step logits and replies of every case, and a conversation carried on with the model's own replies.
 */
class VisualGlmChatModelTest {
  private static NDManager manager;
  private static VisualGlmFixture fixture;
  private static VisionLanguageModel model;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new VisualGlmFixture();
    model = VisionLanguageModels.load(VisualGlmFixture.DIR, manager);
  }

  @AfterAll
  static void close() throws IOException {
    model.close();
    fixture.close();
    manager.close();
  }

  private static GenerationRequest request(JsonNode c, List<ChatTurn> history) throws IOException {
    List<PixelImage> images = VisualGlmFixture.hasImage(c)
        ? List.of(PixelImage.from(ImageIO.read(fixture.image(c).toFile())))
        : List.of();
    return new GenerationRequest(images, c.get("prompt").asText(), history);
  }

  /** The case's options: explicit greedy for plain argmax, else the model's defaults (chat()'s, not sampled). */
  private static DecodingOptions options(JsonNode c) {
    int steps = c.get("max_new_tokens").asInt();
    return c.get("chat_kwargs").has("repetition_penalty")
        ? DecodingOptions.greedy(steps).withLogits()
        : new DecodingOptions(steps, null, true, null);
  }

  @Test
  void everyCaseMatchesTheOriginal() throws IOException {
    assertThat(model.modelType()).startsWith("chatglm");
    assertThat(model.supportsHistory()).isTrue();
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      List<String> streamed = new ArrayList<>();
      GeneratedText out = model.generate(List.of(request(c, VisualGlmFixture.history(c))),
          options(c).withTextSink(streamed::add)).get(0);
      assertThat(out.promptIds()).as(name).isEqualTo(VisualGlmFixture.longs(c.get("prompt_ids")));
      assertThat(out.ids()).as(name).isEqualTo(VisualGlmFixture.longs(c.get("greedy_new_ids")));
      assertThat(out.text()).as(name).isEqualTo(c.get("response").asText());
      assertThat(String.join("", streamed)).as(name + " streamed").isEqualTo(out.text());
      float[][] logits = out.stepLogits();
      float[] flat = new float[logits.length * logits[0].length];
      for (int s = 0; s < logits.length; s++) {
        System.arraycopy(logits[s], 0, flat, s * logits[0].length, logits[0].length);
      }
      try (NDManager m = manager.newSubManager()) {
        fixture.assertMatches(m.create(flat, new Shape(logits.length, logits[0].length)),
            "cases." + name + ".step_logits");
      }
    }
  }

  @Test
  void conversationContinuesWithTheModelsOwnReply() throws IOException {
    JsonNode first = fixture.caseNamed("c0");
    JsonNode second = fixture.caseNamed("c1");
    GeneratedText reply = model.generate(List.of(request(first, List.of())), options(first)).get(0);
    List<ChatTurn> history = List.of(new ChatTurn(first.get("prompt").asText(), reply.text()));
    GeneratedText next = model.generate(List.of(request(second, history)), options(second)).get(0);
    assertThat(next.promptIds()).isEqualTo(VisualGlmFixture.longs(second.get("prompt_ids")));
    assertThat(next.ids()).isEqualTo(VisualGlmFixture.longs(second.get("greedy_new_ids")));
  }

  @Test
  void historyTooLongForTheContextLosesItsOldestTurns() throws IOException {
    JsonNode c = fixture.caseNamed("c1");
    ChatTurn turn = VisualGlmFixture.history(c).get(0);
    List<ChatTurn> history = new ArrayList<>();
    for (int i = 0; i < 120; i++) {
      history.add(new ChatTurn(i + " " + turn.user(), turn.assistant()));
    }
    int newTokens = 2;
    int context = VisualGlmConfig.load(VisualGlmFixture.DIR).glm().maxSequenceLength();
    GeneratedText out = model.generate(List.of(request(c, history)), DecodingOptions.greedy(newTokens)).get(0);
    assertThat(out.droppedTurns()).isBetween(1, history.size() - 1);
    assertThat(out.promptIds().length + newTokens).isLessThanOrEqualTo(context);
    VisualGlmChatModel chat = (VisualGlmChatModel) model;
    List<ChatTurn> kept = history.subList(out.droppedTurns(), history.size());
    assertThat(out.promptIds()).isEqualTo(chat.promptIds(request(c, kept)));
    List<ChatTurn> oneMore = history.subList(out.droppedTurns() - 1, history.size());
    assertThat(chat.promptIds(request(c, oneMore)).length + newTokens).isGreaterThan(context);
  }
}
