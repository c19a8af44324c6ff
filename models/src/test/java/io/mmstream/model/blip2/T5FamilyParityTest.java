package io.mmstream.model.blip2;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.mmstream.image.PixelImage;
import io.mmstream.model.generation.DecodingOptions;
import io.mmstream.model.generation.GeneratedText;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationRequest;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.t5.T5DecoderState;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * A Flan-T5 Q-Former fixture against LAVIS ({@code Blip2T5} / {@code Blip2T5Instruct}): every golden tensor within its
 * atol, greedy and beam ids exact, from the PNG files and the prompt strings.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class T5FamilyParityTest {
  private NDManager manager;
  private Blip2Fixture fixture;
  private Blip2T5Model vlm;
  private Blip2T5ForConditionalGeneration model;

  abstract String family();

  abstract String name();

  @BeforeAll
  void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new Blip2Fixture(family(), name());
    vlm = Blip2T5Model.load(fixture.dir, manager);
    model = vlm.model();
  }

  @AfterAll
  void close() throws IOException {
    vlm.close();
    fixture.close();
    manager.close();
  }

  private boolean instruct() {
    return model.config().instructionAware();
  }

  private List<String> singleCases() {
    List<String> out = new ArrayList<>();
    fixture.json.get("cases").forEach(c -> out.add(c.get("name").asText()));
    return out;
  }

  /** Query outputs of {@code images} for {@code prompts} (the Q-Former reads them only in InstructBLIP). */
  private NDArray queryOutput(NDManager m, List<PixelImage> images, long[][] qformerIds) {
    NDArray states = model.encoder().encodeImages(vlm.images().pixelValues(images, m));
    if (!instruct()) {
      return model.encoder().queryOutput(states);
    }
    NDArray ids = m.create(qformerIds);
    return model.encoder().queryOutput(states, ids, ids.neq(0).toType(DataType.INT64, false));
  }

  @Test
  void visionMatchesOriginal() throws IOException {
    List<PixelImage> images = new ArrayList<>();
    for (JsonNode file : fixture.json.get("image_order")) {
      images.add(fixture.image("images/" + file.asText() + ".png"));
    }
    try (NDManager m = manager.newSubManager()) {
      NDArray pixels = vlm.images().pixelValues(images, m);
      fixture.assertMatches(pixels, "inputs.pixel_values");
      NDArray states = model.encoder().encodeImages(pixels);
      fixture.assertMatches(states, "vision.last_hidden_state");
      if (!instruct()) {
        NDArray queries = model.encoder().queryOutput(states);
        fixture.assertMatches(queries, "qformer.last_hidden_state");
        fixture.assertMatches(model.project(queries), "language_projection.output");
      }
    }
  }

  @Test
  void everyCaseMatchesLayerByLayerAndGreedy() throws IOException {
    for (String name : singleCases()) {
      JsonNode c = fixture.testCase(name);
      String prompt = c.get("prompt").asText();
      long[] promptIds = vlm.promptIds(prompt);
      assertThat(promptIds).as(name + " prompt ids").containsExactly(Blip2Fixture.longs(c.get("prompt_ids")));
      long[] qformerIds = instruct() ? vlm.qformerIds(prompt) : null;
      if (instruct()) {
        assertThat(qformerIds).as(name + " qformer ids").containsExactly(Blip2Fixture.longs(c.get("qformer_input_ids")));
      }
      PixelImage image = fixture.image(c.get("image").asText());
      try (NDManager m = manager.newSubManager()) {
        NDArray queries = queryOutput(m, List.of(image), new long[][] {qformerIds});
        if (instruct()) {
          fixture.assertMatches(queries, "qformer." + name + ".query_output");
          fixture.assertMatches(model.project(queries), "language_projection." + name + ".output");
        }
        NDArray embeds = model.encoderInputs(model.project(queries), m.create(new long[][] {promptIds}));
        fixture.assertMatches(embeds, "t5." + name + ".inputs_embeds");
        NDArray mask = model.encoderMask(m.create(new long[][] {onesLike(promptIds)}));
        int length = (int) embeds.getShape().get(1);
        fixture.assertMatches(model.languageModel().encoderPositionBias(m, length), "t5." + name + ".encoder_position_bias");
        NDArray encoded = model.languageModel().encode(embeds, mask);
        fixture.assertMatches(encoded, "t5." + name + ".encoder_last_hidden_state");
        long[] decoderIds = fixture.tensor(m, "t5." + name + ".decoder_input_ids").toLongArray();
        fixture.assertMatches(model.languageModel().decoderPositionBias(m, decoderIds.length, 0),
            "t5." + name + ".decoder_position_bias");
        try (T5DecoderState state = model.languageModel().newDecoderState(encoded, mask)) {
          fixture.assertMatches(model.languageModel().decode(m.create(new long[][] {decoderIds}), state),
              "t5." + name + ".decoder_last_hidden_state");
        }
      }
      GeneratedText out = vlm.generate(List.of(GenerationRequest.of(image, prompt)),
          DecodingOptions.greedy(c.get("max_new_tokens").asInt()).withLogits()).get(0);
      assertThat(out.ids()).as(name + " greedy ids").containsExactly(Blip2Fixture.longs(c.get("greedy_new_ids")));
      fixture.assertStepLogits(out.stepLogits(), "cases." + name + ".step_logits");
    }
  }

  @Test
  void rightPaddedBatchMatches() throws IOException {
    JsonNode c = fixture.json.get("batch_case");
    List<GenerationRequest> requests = new ArrayList<>();
    for (int i = 0; i < c.get("images").size(); i++) {
      requests.add(GenerationRequest.of(fixture.image(c.get("images").get(i).asText()),
          c.get("prompts").get(i).asText()));
    }
    List<GeneratedText> out = vlm.generate(requests, DecodingOptions.greedy(c.get("max_new_tokens").asInt()).withLogits());
    long[][] golden = Blip2Fixture.longRows(c.get("greedy_new_ids"));
    float[][][] logits = new float[out.size()][][];
    for (int i = 0; i < out.size(); i++) {
      assertThat(out.get(i).ids()).as("batch row " + i).containsExactly(golden[i]);
      logits[i] = out.get(i).stepLogits();
    }
    try (NDManager m = manager.newSubManager()) {
      fixture.assertMatches(Blip2Fixture.stack(m, logits), "cases.batch.step_logits");
    }
  }

  @Test
  void beamSearchGivesTheRecordedIds() throws IOException {
    for (JsonNode beam : fixture.json.get("beam_cases")) {
      JsonNode c = fixture.testCase(beam.get("case").asText());
      long[] promptIds = vlm.promptIds(c.get("prompt").asText());
      long[][] qformerIds = {instruct() ? vlm.qformerIds(c.get("prompt").asText()) : null};
      GenerationConfig config = new GenerationConfig(1 + beam.get("max_new_tokens").asInt(),
          beam.get("min_length").asInt(), beam.get("num_beams").asInt(), (float) beam.get("repetition_penalty").asDouble(),
          (float) beam.get("length_penalty").asDouble(), model.textConfig().eosTokenId(), model.textConfig().padTokenId());
      try (NDManager m = manager.newSubManager()) {
        NDArray prefix = model.project(queryOutput(m, List.of(fixture.image(c.get("image").asText())), qformerIds));
        GenerationResult result = model.generate(prefix, m.create(new long[][] {promptIds}),
            m.create(new long[][] {onesLike(promptIds)}), config, false);
        assertThat(result.sequences()[0]).as("beam " + beam).containsExactly(Blip2Fixture.longs(beam.get("ids")));
      }
    }
  }

  @Test
  void yesProbabilityIsTheFirstStepsYesNoOdds() throws IOException {
    JsonNode vocab = new ObjectMapper().readTree(fixture.dir.resolve("tokenizer.json").toFile())
        .get("model").get("vocab");
    int yes = -1;
    int no = -1;
    for (int i = 0; i < vocab.size(); i++) {
      String piece = vocab.get(i).get(0).asText();
      yes = piece.equals("\u2581yes") ? i : yes;
      no = piece.equals("\u2581no") ? i : no;
    }
    assertThat(yes).isPositive();
    assertThat(no).isPositive();
    List<GenerationRequest> requests = List.of(
        GenerationRequest.of(fixture.image("images/red_circle.png"), vlm.questionPrompt("is there a circle?")),
        GenerationRequest.of(fixture.image("images/gradient.png"), vlm.questionPrompt("is it dark?")));
    double[] scored = vlm.yesProbabilities(requests);
    for (int i = 0; i < requests.size(); i++) {
      float[] first = vlm.generate(List.of(requests.get(i)), DecodingOptions.greedy(1).withLogits()).get(0).stepLogits()[0];
      assertThat(scored[i]).isCloseTo(1.0 / (1.0 + Math.exp(first[no] - first[yes])),
          within(1e-5));
    }
  }

  private static long[] onesLike(long[] ids) {
    long[] out = new long[ids.length];
    Arrays.fill(out, 1L);
    return out;
  }

  /** blip2-t5-tiny: BLIP-2 with Flan-T5, the Q-Former without instruction. */
  static final class Blip2T5Tiny extends T5FamilyParityTest {
    @Override
    String family() {
      return "blip2";
    }

    @Override
    String name() {
      return "blip2-t5-tiny";
    }
  }

  /** instructblip-t5-tiny: the instruction also enters the Q-Former. */
  static final class InstructBlipT5Tiny extends T5FamilyParityTest {
    @Override
    String family() {
      return "instructblip";
    }

    @Override
    String name() {
      return "instructblip-t5-tiny";
    }

    @Test
    void greedyWithRepetitionPenaltyMatches() throws IOException {
      JsonNode p = fixture().json.get("greedy_repetition_penalty_case");
      JsonNode c = fixture().testCase(p.get("case").asText());
      GenerationConfig config = new GenerationConfig(1 + c.get("max_new_tokens").asInt(), 1, 1,
          (float) p.get("repetition_penalty").asDouble(), 1f, 1, 0);
      try (NDManager m = manager().newSubManager()) {
        Blip2T5Model vlm = vlm();
        String prompt = c.get("prompt").asText();
        NDArray states = vlm.model().encoder().encodeImages(
            vlm.images().pixelValues(List.of(fixture().image(c.get("image").asText())), m));
        NDArray qIds = m.create(new long[][] {vlm.qformerIds(prompt)});
        NDArray prefix = vlm.model().project(vlm.model().encoder().queryOutput(states, qIds,
            qIds.neq(0).toType(DataType.INT64, false)));
        long[] promptIds = vlm.promptIds(prompt);
        GenerationResult result = vlm.model().generate(prefix, m.create(new long[][] {promptIds}),
            m.create(new long[][] {onesLike(promptIds)}), config, false);
        long[] generated = Arrays.copyOfRange(result.sequences()[0], 1, result.sequences()[0].length);
        assertThat(generated).containsExactly(Blip2Fixture.longs(p.get("ids")));
      }
    }
  }

  Blip2Fixture fixture() {
    return fixture;
  }

  NDManager manager() {
    return manager;
  }

  Blip2T5Model vlm() {
    return vlm;
  }
}
