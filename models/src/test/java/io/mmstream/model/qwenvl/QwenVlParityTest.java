package io.mmstream.model.qwenvl;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.llama.LlamaKvCache;
import io.mmstream.model.qwen.ChatMlTemplate;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * qwen-vl-tiny against the original remote code: every golden tensor within its golden.json atol and every greedy id
 * exact, from the PNGs, the .bin shards and the prompt strings of each case.
 */
class QwenVlParityTest {
  private static NDManager manager;
  private static QwenVlFixture fixture;
  private static QwenVlChatModel model;
  private static Map<String, PixelImage> images;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new QwenVlFixture();
    model = QwenVlChatModel.load(QwenVlFixture.DIR, manager);
    images = new HashMap<>();
    for (JsonNode name : fixture.json().get("images")) {
      images.put(name.asText(), PixelImage.from(ImageIO.read(QwenVlFixture.DIR.resolve(name.asText()).toFile())));
    }
  }

  @AfterAll
  static void close() throws IOException {
    model.close();
    fixture.close();
    manager.close();
  }

  private static List<PixelImage> fixtureImages() {
    List<PixelImage> out = new ArrayList<>();
    fixture.json().get("images").forEach(n -> out.add(images.get(n.asText())));
    return out;
  }

  @Test
  void resizeIsPillows() throws IOException {
    for (JsonNode name : fixture.json().get("images")) {
      String file = name.asText();
      PixelImage expected = PixelImage.from(ImageIO.read(
          QwenVlFixture.DIR.resolve(file.replace("images/", "images/resized/")).toFile()));
      assertThat(model.processor().resize(images.get(file)).pixels()).as(file).isEqualTo(expected.pixels());
    }
  }

  @Test
  void visionTowerMatchesOriginal() throws IOException {
    try (NDManager m = manager.newSubManager()) {
      NDArray pixels = model.processor().pixelValues(fixtureImages(), m);
      fixture.assertMatches(pixels, "inputs.pixel_values");
      QwenVisionTransformer visual = model.visual();
      fixture.assertMatches(visual.positionEmbedding(), "vision.pos_embed_interpolated");
      fixture.assertMatches(visual.resamplerKeyPositions(), "vision.resampler_key_pos_interpolated");
      NDArray embedded = visual.embed(pixels);
      fixture.assertMatches(embedded.get(0), "vision.i0.embeddings");
      NDArray encoded = visual.encode(embedded);
      fixture.assertMatches(encoded.get(0), "vision.i0.transformer_out");
      fixture.assertMatches(visual.resample(encoded).get(0), "vision.i0.resampler_out");
      fixture.assertMatches(visual.forward(pixels), "vision.image_features");
    }
  }

  @Test
  void promptPassMatchesOriginalForEveryCase() throws IOException {
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      try (NDManager m = manager.newSubManager()) {
        ChatMlTemplate.Prompt prompt = model.template().build(model.tokenizer(), QwenVlFixture.history(c),
            c.get("prompt").asText());
        assertThat(prompt.ids()).as(name).containsExactly(QwenVlFixture.longs(c.get("prompt_ids")));
        NDArray embeds = model.inputsEmbeds(m, prompt.ids(), images, false);
        if (name.equals("c0")) {
          fixture.assertMatches(embeds.get(0), "cases.c0.inputs_embeds");
        }
        int alpha = model.language().transformer().ntkAlpha(prompt.ids().length);
        assertThat(alpha).as(name + " NTK alpha").isEqualTo(c.get("ntk_alpha_prefill").asInt());
        try (LlamaKvCache cache = model.language().newCache(m)) {
          NDArray hidden = model.language().transformer().forward(embeds, cache, alpha).get(0);
          String tail = c.get("prompt_logits_tail_first_pos").asInt() + ":";
          fixture.assertMatches(hidden.get(tail), "cases." + name + ".final_hidden_tail");
          fixture.assertMatches(model.language().logits(hidden.get(tail)), "cases." + name + ".prompt_logits_tail");
        }
      }
    }
  }

  @Test
  void greedyIdsAndStepLogitsMatchOriginalForEveryCase() throws IOException {
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      List<PixelImage> pixels = new ArrayList<>();
      List<String> names = new ArrayList<>();
      for (JsonNode image : c.get("images")) {
        pixels.add(images.get(image.asText()));
        names.add(image.asText());
      }
      GenerationRequest request = new GenerationRequest(pixels, names, c.get("prompt").asText(),
          QwenVlFixture.history(c), false);
      GeneratedText result = model.generate(List.of(request),
          new DecodingOptions(c.get("max_new_tokens").asInt(), 1, true, null)).get(0);
      assertThat(result.promptIds()).as(name + " prompt ids").containsExactly(QwenVlFixture.longs(c.get("prompt_ids")));
      assertThat(result.ids()).as(name + " greedy ids").containsExactly(QwenVlFixture.longs(c.get("greedy_new_ids")));
      try (NDManager m = manager.newSubManager()) {
        fixture.assertMatches(m.create(result.stepLogits()), "cases." + name + ".step_logits");
      }
    }
  }

  @Test
  void streamedTextIsTheReplyAndStopsAtTheStopWord() {
    JsonNode c2 = fixture.caseNamed("c2");
    StringBuilder streamed = new StringBuilder();
    GenerationRequest request = new GenerationRequest(List.of(images.get("images/green_triangle.png")),
        List.of("images/green_triangle.png"), c2.get("prompt").asText(), List.of(), false);
    GeneratedText result = model.generate(List.of(request),
        DecodingOptions.greedy(c2.get("max_new_tokens").asInt()).withTextSink(streamed::append)).get(0);
    assertThat(result.ids()).containsExactly(QwenVlFixture.longs(c2.get("greedy_new_ids")));
    assertThat(streamed.toString().strip()).isEqualTo(result.text()).isNotEmpty();
    assertThat(model.reply(new long[] {70, 480, 322, 320})).isEqualTo(model.reply(new long[] {70, 480}));
  }

  @Test
  void anImageWithoutTagIsWrittenAsFromListFormatDoes() {
    JsonNode c0 = fixture.caseNamed("c0");
    String text = "Describe this image.";
    GenerationRequest request = new GenerationRequest(List.of(images.get("images/red_circle.png")),
        List.of("images/red_circle.png"), text, List.of(), false);
    GeneratedText result = model.generate(List.of(request), DecodingOptions.greedy(2)).get(0);
    assertThat(result.promptIds()).containsExactly(QwenVlFixture.longs(c0.get("prompt_ids")));
    assertThat(result.ids()).containsExactly(Arrays.copyOf(QwenVlFixture.longs(c0.get("greedy_new_ids")), 2));
  }

  @Test
  void aFileNamedInThePromptIsOpenedOnlyWhenTheRequestAllowsIt() {
    String prompt = "Picture 1: <img>" + QwenVlFixture.DIR.resolve("images/red_circle.png").toAbsolutePath() + "</img>\nDescribe this image.";
    GenerationRequest fromUsers = new GenerationRequest(List.of(), List.of(), prompt, List.of(), false);
    assertThatThrownBy(() -> model.generate(List.of(fromUsers), DecodingOptions.greedy(1)))
        .hasMessageContaining("does not carry");
    GenerationRequest fromTheCommand = new GenerationRequest(List.of(), List.of(), prompt, List.of(), true);
    assertThat(model.generate(List.of(fromTheCommand), DecodingOptions.greedy(1)).get(0).ids()).hasSize(1);
  }
}
