package io.mmstream.model.minigpt4;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.auto.VisionLanguageModels;
import io.mmstream.model.generation.ChatTurn;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.VisionLanguageModel;
import io.mmstream.model.llama.LlamaForCausalLM;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * minigpt4-tiny against Vision-CAIR/MiniGPT-4: loaded from the original's .pth files and Vicuna directory as
 * {@code VisionLanguageModels} opens it, every golden tensor within its golden.json atol, prompt and generated ids
 * exact, the reply text as {@code Chat.answer} wrote it, and the second turns from the first turns' own replies.
 */
class MiniGpt4ParityTest {
  private static NDManager manager;
  private static MiniGpt4Fixture fixture;
  private static MiniGpt4Chat chat;
  private static List<PixelImage> images;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new MiniGpt4Fixture();
    VisionLanguageModel model = VisionLanguageModels.load(MiniGpt4Fixture.DIR, manager);
    assertThat(model).isInstanceOf(MiniGpt4Chat.class);
    chat = (MiniGpt4Chat) model;
    images = new ArrayList<>();
    for (String name : fixture.imageNames()) {
      images.add(image("images/" + name + ".png"));
    }
  }

  private static PixelImage image(String relative) throws IOException {
    return PixelImage.from(ImageIO.read(fixture.image(relative).toFile()));
  }

  @AfterAll
  static void close() throws IOException {
    chat.close();
    fixture.close();
    manager.close();
  }

  @Test
  void shapesComeFromTheCheckpoints() {
    JsonNode s = fixture.json().get("config_summary");
    MiniGpt4Config c = chat.model().config();
    assertThat(c.vision().hiddenSize()).isEqualTo(s.get("vision_width").asInt());
    assertThat(c.vision().numHiddenLayers()).isEqualTo(s.get("vision_depth").asInt());
    assertThat(c.vision().numAttentionHeads()).isEqualTo(s.get("vision_heads").asInt());
    assertThat(c.vision().intermediateSize()).isEqualTo(s.get("vision_mlp").asInt());
    assertThat(c.vision().imageSize()).isEqualTo(s.get("image_size").asInt());
    assertThat(c.numQueryTokens()).isEqualTo(s.get("num_query_tokens").asInt());
    assertThat(c.qformer().hiddenSize()).isEqualTo(s.get("qformer_hidden").asInt());
    assertThat(c.qformer().numHiddenLayers()).isEqualTo(s.get("qformer_layers").asInt());
    assertThat(c.qformer().numAttentionHeads()).isEqualTo(s.get("qformer_heads").asInt());
    assertThat(c.qformer().intermediateSize()).isEqualTo(s.get("qformer_intermediate").asInt());
    List<long[]> stops = MiniGpt4Chat.stopSequences(chat.tokenizer(), chat.conversation().separator());
    assertThat(stops).hasSize(2);
    assertThat(stops.get(0)).containsExactly(MiniGpt4Fixture.longs(s.get("stop_ids_###").get(0)));
    assertThat(stops.get(1)).containsExactly(MiniGpt4Fixture.longs(s.get("stop_ids_###").get(1)));
  }

  @Test
  void imageRowsMatchTheOriginal() throws IOException {
    try (NDManager m = manager.newSubManager()) {
      MiniGpt4Model model = chat.model();
      NDArray pixels = chat.images().pixelValues(images, m);
      fixture.assertMatches(pixels, "inputs.pixel_values");
      var vision = model.queryEncoder().vision();
      fixture.assertMatches(vision.encode(vision.embed(pixels)), "vision.encoder_output");
      NDArray states = model.encodeImages(pixels);
      fixture.assertMatches(states, "vision.last_hidden_state");
      NDArray queries = model.qformerStates(states);
      fixture.assertMatches(queries, "qformer.last_hidden_state");
      fixture.assertMatches(model.project(queries), "llama_proj.output");
      fixture.assertMatches(model.encodeImage(pixels), "llama_proj.output");
    }
  }

  @Test
  void promptEmbeddingsAndTeacherForcedLogitsMatch() throws IOException {
    LlamaForCausalLM lm = chat.model().languageModel();
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      List<long[]> segments = chat.segmentIds(MiniGpt4ConversationTest.history(c), c.get("prompt").asText());
      assertThat(segments.get(0)).as(name).containsExactly(MiniGpt4Fixture.longs(c.get("prompt_segment_ids").get(0)));
      assertThat(segments.get(1)).as(name).containsExactly(MiniGpt4Fixture.longs(c.get("prompt_segment_ids").get(1)));
      try (NDManager m = manager.newSubManager()) {
        NDArray pixels = chat.images().pixelValues(List.of(image(c.get("image").asText())), m);
        NDArray embeds = chat.inputsEmbeds(m, chat.model().encodeImage(pixels), segments);
        fixture.assertMatches(embeds.get(0), "cases." + name + ".inputs_embeds");
        NDArray positions = m.arange(0, (int) embeds.getShape().get(1), 1, DataType.INT64).expandDims(0);
        NDArray hidden = lm.hiddenStates(embeds, null, positions, null);
        fixture.assertMatches(hidden.get(0), "cases." + name + ".final_norm_hidden_state");
        fixture.assertMatches(lm.logits(hidden).get(0), "cases." + name + ".logits");
      }
    }
  }

  @Test
  void greedyRepliesMatchTurnByTurn() throws IOException {
    Map<String, String> replies = new HashMap<>();
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      List<ChatTurn> history = new ArrayList<>();
      // A later turn's history is this test's own earlier reply, so the chain is checked, not the golden text.
      String conversation = name.substring(0, name.indexOf('_'));
      for (JsonNode turn : c.get("history")) {
        String earlier = replies.get(conversation);
        assertThat(earlier).as(name + " needs its first turn's reply").isNotNull();
        assertThat(earlier).isEqualTo(turn.get(1).asText());
        history.add(new ChatTurn(turn.get(0).asText(), earlier));
      }
      List<String> streamed = new ArrayList<>();
      GeneratedText out = chat.generate(
          List.of(new GenerationRequest(List.of(image(c.get("image").asText())), c.get("prompt").asText(), history)),
          DecodingOptions.greedy(c.get("max_new_tokens").asInt()).withLogits().withTextSink(streamed::add)).get(0);
      assertThat(out.promptIds()).as(name).containsExactly(MiniGpt4Fixture.longs(c.get("prompt_ids")));
      assertThat(out.ids()).as(name).containsExactly(MiniGpt4Fixture.longs(c.get("greedy_new_ids")));
      try (NDManager m = manager.newSubManager()) {
        fixture.assertMatches(m.create(out.stepLogits()), c.get("step_logits").asText());
      }
      assertThat(out.text()).as(name).isEqualTo(c.get("chat_answer_text").asText());
      assertThat(MiniGpt4Conversation.pythonStrip(String.join("", streamed))).as(name + " streamed").isEqualTo(out.text());
      assertThat(out.droppedTurns()).isZero();
      replies.put(conversation, out.text());
    }
  }

  @Test
  void batchedRequestsAnswerEachAlone() throws IOException {
    List<JsonNode> firstTurns = fixture.cases().stream().filter(c -> c.get("history").isEmpty()).toList();
    List<GenerationRequest> requests = new ArrayList<>();
    for (JsonNode c : firstTurns) {
      requests.add(GenerationRequest.of(image(c.get("image").asText()), c.get("prompt").asText()));
    }
    List<GeneratedText> out = chat.generate(requests, DecodingOptions.greedy(8));
    for (int i = 0; i < firstTurns.size(); i++) {
      assertThat(out.get(i).ids()).containsExactly(MiniGpt4Fixture.longs(firstTurns.get(i).get("greedy_new_ids")));
    }
  }
}
