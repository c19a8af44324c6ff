package io.mmstream.model.blip2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * blip2-opt-tiny against LAVIS {@code Blip2OPT}: every golden tensor within its atol, every id exact, from the PNG
 * files, the prompt strings and the sharded checkpoint.
 */
class Blip2OptParityTest {
  private static final List<String> SINGLE_CASES = List.of("c0", "c1", "c2", "c3", "c4", "c5");

  private static NDManager manager;
  private static Blip2Fixture fixture;
  private static Blip2OptModel vlm;
  private static Blip2OptForConditionalGeneration model;
  private static BlipImagePreprocessor preprocessor;
  private static List<PixelImage> images;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new Blip2Fixture("blip2", "blip2-opt-tiny");
    vlm = Blip2OptModel.load(fixture.dir, manager);
    model = vlm.model();
    preprocessor = BlipImagePreprocessor.load(fixture.dir, model.config().vision());
    images = new ArrayList<>();
    for (JsonNode name : fixture.json.get("images")) {
      images.add(fixture.image("images/" + name.asText() + ".png"));
    }
  }

  @AfterAll
  static void close() throws IOException {
    vlm.close();
    fixture.close();
    manager.close();
  }

  @Test
  void imageSideMatchesOriginal() {
    try (NDManager m = manager.newSubManager()) {
      NDArray pixels = preprocessor.pixelValues(images, m);
      fixture.assertMatches(pixels, "inputs.pixel_values");
      NDArray states = model.encoder().encodeImages(pixels);
      fixture.assertMatches(states, "vision.last_hidden_state");
      fixture.assertMatches(model.encoder().queryOutput(states), "qformer.last_hidden_state");
      fixture.assertMatches(model.visualPrefix(states), "language_projection.output");
    }
  }

  @Test
  void teacherForcedLanguageModelMatchesEveryCase() {
    for (String name : SINGLE_CASES) {
      JsonNode c = fixture.testCase(name);
      long[] promptIds = vlm.promptIds(c.get("prompt").asText());
      assertThat(promptIds).as(name + " prompt ids").containsExactly(Blip2Fixture.longs(c.get("prompt_ids")));
      try (NDManager m = manager.newSubManager()) {
        NDArray pixels = preprocessor.pixelValues(List.of(images.get(c.get("image_index").asInt())), m);
        NDArray prefix = model.visualPrefix(model.encoder().encodeImages(pixels));
        fixture.assertMatches(model.encoder().queryOutput(model.encoder().encodeImages(pixels)),
            "cases." + name + ".query_output");
        NDArray embeds = model.languageModelInputs(prefix, m.create(new long[][] {promptIds}));
        fixture.assertMatches(embeds, "cases." + name + ".inputs_embeds");
        NDArray mask = model.languageModelMask(m.ones(new Shape(1, promptIds.length),
            DataType.INT64));
        NDArray hidden = model.languageModel().hiddenStates(embeds, mask, null);
        fixture.assertMatches(hidden, "cases." + name + ".final_norm_hidden_state");
        fixture.assertMatches(model.languageModel().logits(hidden), "cases." + name + ".logits");
      }
    }
  }

  @Test
  void greedyIdsAndStepLogitsMatchEveryCase() {
    for (String name : SINGLE_CASES) {
      JsonNode c = fixture.testCase(name);
      GeneratedText out = vlm.generate(
          List.of(GenerationRequest.of(images.get(c.get("image_index").asInt()), c.get("prompt").asText())),
          DecodingOptions.greedy(c.get("max_new_tokens").asInt()).withLogits()).get(0);
      assertThat(out.ids()).as(name + " ids").containsExactly(Blip2Fixture.longs(c.get("greedy_new_ids")));
      fixture.assertStepLogits(out.stepLogits(), "cases." + name + ".step_logits");
      assertThat(out.text()).as(name + " text").isEqualTo(c.get("lavis_output_text").get(0).asText());
    }
  }

  @Test
  void yesProbabilityIsTheFirstStepsYesNoOdds() throws IOException {
    JsonNode vocab = new ObjectMapper().readTree(fixture.dir.resolve("vocab.json").toFile());
    int yes = vocab.get("\u0120yes").asInt();
    int no = vocab.get("\u0120no").asInt();
    List<GenerationRequest> requests = List.of(
        GenerationRequest.of(images.get(0), vlm.questionPrompt("is there a circle?")),
        GenerationRequest.of(images.get(1), vlm.questionPrompt("is it dark?")));
    double[] scored = vlm.yesProbabilities(requests);
    for (int i = 0; i < requests.size(); i++) {
      float[] first = vlm.generate(List.of(requests.get(i)), DecodingOptions.greedy(1).withLogits()).get(0).stepLogits()[0];
      assertThat(scored[i]).isCloseTo(1.0 / (1.0 + Math.exp(first[no] - first[yes])), within(1e-5));
    }
  }

  @Test
  void leftPaddedBatchMatchesPredictAnswers() {
    JsonNode c = fixture.testCase("batch");
    long[][] promptIds = Blip2Fixture.longRows(c.get("prompt_ids"));
    List<PixelImage> batchImages = new ArrayList<>();
    c.get("image_index").forEach(i -> batchImages.add(images.get(i.asInt())));
    try (NDManager m = manager.newSubManager()) {
      NDArray prefix = model.visualPrefix(model.encoder().encodeImages(preprocessor.pixelValues(batchImages, m)));
      NDArray ids = m.create(promptIds);
      NDArray promptMask = ids.neq(model.textConfig().padTokenId()).toType(DataType.INT64, false);
      NDArray embeds = model.languageModelInputs(prefix, ids);
      NDArray mask = model.languageModelMask(promptMask);
      assertThat(mask.toLongArray()).containsExactly(
          Arrays.stream(Blip2Fixture.longRows(c.get("attention_mask"))).flatMapToLong(Arrays::stream)
              .toArray());
      fixture.assertMatches(embeds, "cases.batch.inputs_embeds");
      NDArray hidden = model.languageModel().hiddenStates(embeds, mask, null);
      fixture.assertMatches(hidden, "cases.batch.final_norm_hidden_state");
      fixture.assertMatches(model.languageModel().logits(hidden), "cases.batch.logits");
      GenerationConfig greedy = new GenerationConfig(c.get("max_new_tokens").asInt(), 1, 1, 1f, 1f, 202,
          model.textConfig().padTokenId());
      GenerationResult result = model.generate(prefix, ids, promptMask, greedy, true);
      assertThat(result.sequences()).isEqualTo(Blip2Fixture.longRows(c.get("greedy_new_ids")));
      fixture.assertMatches(Blip2Fixture.stack(m, result.stepLogits()), "cases.batch.step_logits");
    }
  }
}
