package io.mmstream.model.visualglm;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PixelImage;
import io.mmstream.model.chatglm.ChatGlmConfig;
import io.mmstream.model.chatglm.GlmPrefix;
import io.mmstream.model.generation.GenerationResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * visualglm-tiny (sharded float16/float32 pytorch_model-*.bin) against THUDM's remote code: every golden tensor
 * within its atol of golden.json and every greedy id exact, starting from the PNG files and the prompt ids.
 */
class VisualGlmParityTest {
  private static NDManager manager;
  private static VisualGlmFixture fixture;
  private static VisualGlmForConditionalGeneration model;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new VisualGlmFixture();
    model = VisualGlmForConditionalGeneration.load(VisualGlmFixture.DIR, manager);
  }

  @AfterAll
  static void close() throws IOException {
    model.close();
    fixture.close();
    manager.close();
  }

  private static PixelImage image(Path file) throws IOException {
    return PixelImage.from(ImageIO.read(file.toFile()));
  }

  private static NDArray imageEmbeds(NDManager m, Path file) throws IOException {
    return model.imageEmbeds(model.pixelValues(List.of(image(file)), m));
  }

  @Test
  void imageModuleMatchesOriginalForEveryImage() throws IOException {
    JsonNode images = fixture.json().get("images");
    assertThat(images.size()).isEqualTo(4);
    for (Map.Entry<String, JsonNode> e : (Iterable<Map.Entry<String, JsonNode>>) images::fields) {
      String key = "images." + e.getKey();
      try (NDManager m = manager.newSubManager()) {
        NDArray pixels = model.pixelValues(List.of(image(VisualGlmFixture.DIR.resolve(e.getValue().get("file").asText()))), m);
        fixture.assertMatches(pixels.get(0), key + ".pixel_values");
        NDArray embedded = model.vision().embed(pixels);
        fixture.assertMatches(embedded.get(0), key + ".vision.embeddings");
        fixture.assertMatches(model.vision().encode(embedded).get(0), key + ".vision.pre_ln_vision");
        NDArray states = model.vision().forward(pixels);
        fixture.assertMatches(states.get(0), key + ".vision.last_hidden_state");
        fixture.assertMatches(model.qformer().forward(states).get(0), key + ".qformer.last_hidden_state");
        fixture.assertMatches(model.imageEmbeds(pixels).get(0), key + ".image_embeds");
      }
    }
  }

  @Test
  void languageModelMatchesOriginalLayerByLayer() throws IOException {
    ChatGlmConfig glm = model.config().glm();
    int checked = 0;
    for (JsonNode c : fixture.cases()) {
      String key = "cases." + c.get("name").asText();
      if (!fixture.json().get("tensors").has(key + ".logits")) {
        continue;
      }
      try (NDManager m = manager.newSubManager()) {
        long[] ids = VisualGlmFixture.longs(c.get("prompt_ids"));
        NDArray embeds = promptEmbeds(m, c, ids);
        fixture.assertMatches(embeds.get(0), key + ".inputs_embeds");
        GlmPrefix prefix = GlmPrefix.of(ids, glm);
        long[][] positions = prefix.positionIds(ids.length);
        NDArray positionIds = m.create(concat(positions[0], positions[1]), new Shape(1, 2, ids.length));
        List<float[]> layers = new ArrayList<>();
        NDArray hidden = model.languageModel().hiddenStates(
            embeds, positionIds, prefix.additiveMask(m, ids.length), null, x -> layers.add(x.toFloatArray()));
        assertThat(layers).hasSize(glm.numLayers());
        for (int i = 0; i < layers.size(); i++) {
          NDArray layer = m.create(layers.get(i), new Shape(ids.length, glm.hiddenSize()));
          fixture.assertMatches(layer, key + ".glm.layer_" + i);
        }
        fixture.assertMatches(hidden.get(0), key + ".glm.final_hidden");
        fixture.assertMatches(model.languageModel().logits(hidden).get(0), key + ".logits");
        checked++;
      }
    }
    assertThat(checked).isEqualTo(5);
  }

  @Test
  void greedyIdsAndStepLogitsMatchOriginalWithKvCache() throws IOException {
    int checked = 0;
    for (JsonNode c : fixture.cases()) {
      String name = c.get("name").asText();
      VisualGlmDecoding decoding = c.get("chat_kwargs").has("repetition_penalty")
          ? VisualGlmDecoding.greedy()
          : VisualGlmDecoding.chatDefaults();
      try (NDManager m = manager.newSubManager()) {
        long[] ids = VisualGlmFixture.longs(c.get("prompt_ids"));
        int steps = c.get("max_new_tokens").asInt();
        GenerationResult result = model.generate(ids, promptEmbeds(m, c, ids),
            decoding.generationConfig(model.config().glm(), ids.length, steps, 1), true, m, null);
        long[] generated = Arrays.copyOfRange(result.sequences()[0], ids.length, result.sequences()[0].length);
        assertThat(generated).as(name).isEqualTo(VisualGlmFixture.longs(c.get("greedy_new_ids")));
        float[][] stepLogits = result.stepLogits()[0];
        float[] flat = new float[stepLogits.length * stepLogits[0].length];
        for (int s = 0; s < stepLogits.length; s++) {
          System.arraycopy(stepLogits[s], 0, flat, s * stepLogits[0].length, stepLogits[0].length);
        }
        fixture.assertMatches(m.create(flat, new Shape(stepLogits.length, stepLogits[0].length)),
            "cases." + name + ".step_logits");
        checked++;
      }
    }
    assertThat(checked).isEqualTo(6);
  }

  /** The case's input embeddings {@code [1, L, H]}: the image spliced in where the case has one. */
  private static NDArray promptEmbeds(NDManager m, JsonNode c, long[] ids) throws IOException {
    if (!VisualGlmFixture.hasImage(c)) {
      return model.languageModel().embed(m.create(ids).expandDims(0));
    }
    return model.inputsEmbeds(ids, imageEmbeds(m, fixture.image(c)), c.get("pre_image_length").asInt());
  }

  private static long[] concat(long[] a, long[] b) {
    long[] out = Arrays.copyOf(a, a.length + b.length);
    System.arraycopy(b, 0, out, a.length, b.length);
    return out;
  }
}
