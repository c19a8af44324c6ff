package io.mmstream.model.instructblip;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.offset;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.image.PixelImage;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * instructblip-tiny against LAVIS + Meta LLaMA: every golden tensor within its atol of golden.json,
 * every id exact, starting from the PNG files and the instruction strings.
 */
class InstructBlipParityTest {
  private static NDManager manager;
  private static InstructBlipFixture fixture;
  private static InstructBlipAnswerer answerer;
  private static InstructBlipForConditionalGeneration model;
  private static List<PixelImage> images;

  @BeforeAll
  static void load() throws IOException {
    manager = NDManager.newBaseManager();
    fixture = new InstructBlipFixture();
    answerer = InstructBlipAnswerer.load(InstructBlipFixture.DIR, manager, InstructBlipOptions.defaults());
    model = answerer.model();
    images = new ArrayList<>();
    for (int i = 0; i < fixture.count(); i++) {
      images.add(PixelImage.from(ImageIO.read(fixture.image(i).toFile())));
    }
  }

  @AfterAll
  static void close() throws IOException {
    answerer.close();
    fixture.close();
    manager.close();
  }

  private NDArray pixels(NDManager m) {
    return answerer.processor().images().pixelValues(images, m);
  }

  @Test
  void visionTowerMatchesOriginal() throws IOException {
    try (NDManager m = manager.newSubManager()) {
      NDArray pixels = pixels(m);
      fixture.assertMatches(pixels, "inputs.pixel_values");
      NDArray embedded = model.vision().embed(pixels);
      fixture.assertMatches(embedded, "vision.embeddings");
      fixture.assertMatches(model.vision().encode(embedded), "vision.pre_ln");
      fixture.assertMatches(model.encodeImages(pixels), "vision.last_hidden_state");
    }
  }

  @Test
  void configEpsVariantMatchesHfGolden() throws IOException {
    try (NDManager m = manager.newSubManager();
        InstructBlipForConditionalGeneration hf = InstructBlipForConditionalGeneration.load(
            InstructBlipFixture.DIR, m, InstructBlipOptions.defaults().hfPostLayerNormEps())) {
      NDArray states = hf.encodeImages(pixels(m));
      fixture.assertMatches(states, "vision.last_hidden_state_hf_post_ln_eps_1e-6");
      NDArray original = fixture.tensor(m, "vision.last_hidden_state");
      assertThat(states.sub(original).abs().max().getFloat())
          .as("the two eps choices must differ by more than atol")
          .isGreaterThan((float) fixture.atol("vision.last_hidden_state"));
    }
  }

  @Test
  void qformerProjectionAndLanguageModelMatchPerInstruction() throws IOException {
    for (int i = 0; i < fixture.count(); i++) {
      String p = "i" + i;
      String instruction = fixture.instruction(i);
      try (NDManager m = manager.newSubManager()) {
        TokenBatch qIds = answerer.processor().qformerInputs(List.of(instruction));
        assertThat(qIds.ids()[0]).as(p + " qformer ids").containsExactly(fixture.ids("qformer." + p + ".input_ids"));
        TokenBatch prompt = answerer.processor().promptInputs(List.of(instruction));
        assertThat(prompt.ids()[0]).as(p + " prompt ids").containsExactly(fixture.ids("llm." + p + ".prompt_ids"));

        NDArray image = model.encodeImages(answerer.processor().images().pixelValues(List.of(images.get(i)), m));
        NDArray ids = qIds.idsArray(m);
        fixture.assertMatches(model.qformerEmbeddings(ids).squeeze(0), "qformer." + p + ".embeddings");
        NDArray states = model.qformerStates(image, ids, qIds.maskArray(m));
        fixture.assertMatches(states.squeeze(0), "qformer." + p + ".last_hidden_state");
        NDArray queries = states.get(new NDIndex(":, :4"));
        fixture.assertMatches(queries.squeeze(0), "qformer." + p + ".query_output");
        NDArray prefix = model.project(queries);
        fixture.assertMatches(prefix.squeeze(0), "language_projection." + p + ".output");

        NDArray embeds = model.languageModelInputs(prefix, prompt.idsArray(m));
        fixture.assertMatches(embeds.squeeze(0), "llm." + p + ".inputs_embeds");
        NDArray mask = model.languageModelMask(prompt.maskArray(m));
        assertThat(mask.toLongArray()).containsExactly(fixture.ids("llm." + p + ".attention_mask"));
        long n = embeds.getShape().get(1);
        NDArray positions = m.arange(0, (int) n, 1, DataType.INT64).reshape(1, n);
        NDArray hidden = model.languageModel().hiddenStates(embeds, mask, positions, null);
        fixture.assertMatches(hidden.squeeze(0), "llm." + p + ".final_norm_hidden_state");
        fixture.assertMatches(model.languageModel().logits(hidden).squeeze(0), "llm." + p + ".logits");
      }
    }
  }

  @Test
  void greedyAnswersMatchOriginalWithAndWithoutKvCache() throws IOException {
    for (boolean cached : new boolean[] {false, true}) {
      for (int i = 0; i < fixture.count(); i++) {
        InstructGeneration greedy = InstructGeneration.greedy(8).withKvCache(cached).withRecordLogits(true);
        InstructAnswer answer = answerer.answer(images.get(i), List.of(fixture.instruction(i)), greedy).get(0);
        assertThat(answer.ids()).as("i" + i + " cached=" + cached)
            .containsExactly(fixture.ids("llm.i" + i + ".greedy_new_ids"));
        try (NDManager m = manager.newSubManager()) {
          NDArray steps = m.create(answer.stepLogits());
          if (i == 0) {
            fixture.assertMatches(steps, "llm.i0.greedy_step_logits");
          } else {
            NDArray last = fixture.tensor(m, "llm.i" + i + ".logits").get(new NDIndex("-1"));
            assertThat(steps.get(0).sub(last).abs().max().getFloat())
                .isLessThanOrEqualTo((float) fixture.atol("llm.i" + i + ".logits"));
          }
        }
      }
    }
  }

  @Test
  void yesProbabilityComparesTheTwoContinuationsAfterThePrompt() throws IOException {
    long yes = answerer.processor().continuationIds(InstructBlipAnswerer.YES)[0];
    long no = answerer.processor().continuationIds(InstructBlipAnswerer.NO)[0];
    assertThat(answerer.processor().continuationIds(InstructBlipAnswerer.NO)).containsExactly(135);
    double p = answerer.yesProbability(images.get(1), fixture.instruction(1));
    try (NDManager m = manager.newSubManager()) {
      float[] last = fixture.tensor(m, "llm.i1.logits").get(new NDIndex("-1")).toFloatArray();
      double expected = 1.0 / (1.0 + Math.exp(last[(int) no] - last[(int) yes]));
      assertThat(p).isCloseTo(expected, offset(1e-5));
    }
  }

  @Test
  void batchedQformerMatchesPaddedGoldens() throws IOException {
    List<String> instructions = new ArrayList<>();
    for (int i = 0; i < fixture.count(); i++) {
      instructions.add(fixture.instruction(i));
    }
    TokenBatch batch = answerer.processor().qformerInputs(instructions);
    long[] goldenIds = fixture.ids("qformer.batch.input_ids");
    long[] goldenMask = fixture.ids("qformer.batch.attention_mask");
    try (NDManager m = manager.newSubManager()) {
      assertThat(batch.idsArray(m).toLongArray()).containsExactly(goldenIds);
      NDArray rowMask = m.ones(new Shape(batch.rows(), 4), DataType.INT64)
          .concat(batch.maskArray(m), 1);
      assertThat(rowMask.toLongArray()).containsExactly(goldenMask);
      NDArray image = model.encodeImages(pixels(m));
      NDArray states = model.qformerStates(image, batch.idsArray(m), batch.maskArray(m));
      fixture.assertMatches(states, "qformer.batch.last_hidden_state");
      NDArray queries = states.get(new NDIndex(":, :4"));
      fixture.assertMatches(queries, "qformer.batch.query_output");
      fixture.assertMatches(model.project(queries), "language_projection.batch.output");
    }
  }

  @Test
  void leftPaddedBatchGeneratesWhatEachRequestGeneratesAlone() {
    List<InstructRequest> requests = new ArrayList<>();
    for (int i = 0; i < fixture.count(); i++) {
      requests.add(new InstructRequest(images.get(i), fixture.instruction(i)));
    }
    InstructGeneration greedy = InstructGeneration.greedy(8).withRecordLogits(true);
    InstructGeneration beam = new InstructGeneration(6, 1, 3, 1.5f, 1f, true, false);
    for (InstructGeneration settings : List.of(greedy, beam)) {
      List<InstructAnswer> batched = answerer.answer(requests, settings);
      for (int i = 0; i < requests.size(); i++) {
        InstructAnswer alone = answerer.answer(List.of(requests.get(i)), settings).get(0);
        assertThat(batched.get(i).ids()).as("request " + i + " beams " + settings.numBeams())
            .containsExactly(alone.ids());
        if (settings.recordLogits()) {
          for (int s = 0; s < alone.stepLogits().length; s++) {
            float[] a = alone.stepLogits()[s];
            float[] b = batched.get(i).stepLogits()[s];
            for (int v = 0; v < a.length; v++) {
              assertThat(b[v]).isCloseTo(a[v], offset(1e-5f));
            }
          }
        }
      }
    }
  }
}
