package io.mmstream.model.llava;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import io.mmstream.image.PilResampler;
import io.mmstream.image.PixelImage;
import io.mmstream.model.clip.ClipImagePreprocessor;
import io.mmstream.model.clip.ClipVisionTransformer;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * llava-tiny against haotian-liu/LLaVA (openai CLIP tower, Meta LLaMA): every golden tensor within its atol,
 * greedy ids exact, from the PNG files and the original's prompt ids.
 */
class LlavaParityTest {
  private static NDManager manager;
  private static LlavaFixture fixture;
  private static LlavaForConditionalGeneration model;
  private static LlavaImageProcessor processor;
  /** Golden tensors some test compared; checked against the full list at the end. */
  private static final Set<String> checked = new HashSet<>();

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new LlavaFixture();
    model = LlavaForConditionalGeneration.load(LlavaFixture.DIR, manager);
    processor = LlavaImageProcessor.load(LlavaFixture.DIR, model.config().vision().imageSize());
  }

  @AfterAll
  static void close() throws IOException {
    model.close();
    fixture.close();
    manager.close();
  }

  private static void check(NDArray actual, String name) {
    fixture.assertMatches(actual, name);
    checked.add(name);
  }

  @Test
  void paddedPixelsAndVisionTowerMatchOriginal() throws IOException {
    try (NDManager m = manager.newSubManager()) {
      NDArray pixels = processor.pixelValues(fixture.images(), m);
      check(pixels, "inputs.pixel_values");
      ClipVisionTransformer.Output out = model.visionOutput(pixels);
      check(out.embeddings(), "vision.embeddings");
      check(NDArrays.stack(new NDList(out.hiddenStates())), "vision.hidden_states");
      check(out.hiddenStates().get(out.hiddenStates().size() - 1), "vision.last_hidden_state");
      check(out.pooled(), "vision.pooler_output");
      NDArray selected = model.selectFeatures(out.hiddenStates());
      check(selected, "vision.selected_features");
      check(model.projector().firstLinear(selected), "projector.linear_1_output");
      check(model.projector().forward(selected), "projector.output");
      check(model.encodeImages(pixels), "projector.output");
    }
  }

  /**
   * What llava-hf's CLIPImageProcessor makes of the images (no padding; short side resized, centre crop at
   * {@code (size - crop) // 2}) is what the golden shows, and it differs from LLaVA's padded input.
   */
  @Test
  void hfProcessorCropsInsteadOfPadding() throws IOException {
    try (NDManager m = manager.newSubManager()) {
      int size = processor.size();
      ClipImagePreprocessor clip = new ClipImagePreprocessor(size);
      List<PixelImage> cropped = new ArrayList<>();
      for (PixelImage image : fixture.images()) {
        int w = image.width();
        int h = image.height();
        int outW = w <= h ? size : (int) ((double) size * w / h);
        int outH = w <= h ? (int) ((double) size * h / w) : size;
        PixelImage resized = PilResampler.resizeBicubic(image.toRgb(), outW, outH);
        cropped.add(resized.crop((outW - size) / 2, (outH - size) / 2, size, size));
      }
      NDArray pixels = clip.pixelValues(cropped, m);
      check(pixels, "inputs.pixel_values_hf_processor_no_pad");
      NDArray padded = processor.pixelValues(fixture.images(), m);
      assertThat(padded.sub(pixels).abs().max().getFloat())
          .as("padding must change the non-square image")
          .isGreaterThan((float) fixture.atol("inputs.pixel_values"));
    }
  }

  @Test
  void everyCaseMatchesTeacherForcedAndGreedyWithAndWithoutCache() throws IOException {
    for (JsonNode c : fixture.cases()) {
      String p = "cases." + c.get("name").asText() + ".";
      try (NDManager m = manager.newSubManager()) {
        PixelImage image = LlavaFixture.image(c.get("image").asText());
        NDArray pixels = processor.pixelValues(List.of(image), m);
        check(pixels.squeeze(0), p + "pixel_values");
        long[] promptIds = LlavaFixture.longs(c.get("prompt_ids"));
        assertThat(promptIds).containsExactly(fixture.tensor(m, p + "prompt_ids").toLongArray());
        checked.add(p + "prompt_ids");
        NDArray embeds = model.inputsEmbeds(m, promptIds, model.encodeImages(pixels));
        check(embeds.squeeze(0), p + "inputs_embeds");
        assertThat(hfInputIds(promptIds)).containsExactly(fixture.tensor(m, p + "hf_input_ids").toLongArray());
        checked.add(p + "hf_input_ids");

        long n = embeds.getShape().get(1);
        NDArray positions = m.arange(0, (int) n, 1, DataType.INT64).reshape(1, n);
        check(model.languageModel().model().layerOutput(1, embeds, null, positions).squeeze(0), p + "layer0_output");
        NDArray hidden = model.languageModel().hiddenStates(embeds, null, positions, null);
        check(hidden.squeeze(0), p + "final_norm_hidden_state");
        check(model.languageModel().logits(hidden).squeeze(0), p + "logits");

        long[] expected = fixture.tensor(m, p + "greedy_new_ids").toLongArray();
        assertThat(expected).containsExactly(LlavaFixture.longs(c.get("greedy_new_ids")));
        checked.add(p + "greedy_new_ids");
        for (boolean cached : new boolean[] {true, false}) {
          GenerationConfig greedy = GenerationConfig.greedy(c.get("max_new_tokens").asInt(), 2, 513);
          GenerationResult result = model.generate(embeds, greedy, cached, true);
          assertThat(result.sequences()[0]).as(p + " cached=" + cached).containsExactly(expected);
          float[][] steps = result.stepLogits()[0];
          NDArray stepLogits = m.create(steps.length == 0 ? new float[0] : flatten(steps))
              .reshape(steps.length, steps[0].length);
          check(stepLogits, p + "step_logits");
        }
      }
    }
  }

  /** The HF form of the ids: each marker becomes image_seq_length copies of image_token_index. */
  private static long[] hfInputIds(long[] promptIds) {
    int tokens = model.config().imageTokens();
    return java.util.Arrays.stream(promptIds)
        .flatMap(id -> id == LlavaForConditionalGeneration.IMAGE_MARKER
            ? java.util.stream.LongStream.generate(() -> model.config().imageTokenIndex()).limit(tokens)
            : java.util.stream.LongStream.of(id))
        .toArray();
  }

  private static float[] flatten(float[][] rows) {
    float[] out = new float[rows.length * rows[0].length];
    for (int i = 0; i < rows.length; i++) {
      System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[i].length);
    }
    return out;
  }

  @AfterAll
  static void everyGoldenTensorWasCompared() {
    assertThat(checked).containsExactlyInAnyOrderElementsOf(fixture.tensorNames());
  }
}
