package io.mmstream.model.blip;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every caption golden of blip-tiny-caption, from the original salesforce/BLIP code. */
class BlipCaptionParityTest {
  private static BlipFixture fixture;
  private static NDManager manager;
  private static BlipForConditionalGeneration model;
  private static BlipTokenizer tokenizer;

  @BeforeAll
  static void load() throws Exception {
    fixture = BlipFixture.caption();
    manager = NDManager.newBaseManager();
    model = BlipForConditionalGeneration.load(fixture.dir, manager);
    tokenizer = BlipTokenizer.open(fixture.dir, model.config().text());
  }

  @AfterAll
  static void close() throws Exception {
    tokenizer.close();
    model.close();
    manager.close();
    fixture.close();
  }

  @Test
  void preprocessingMatchesPixelValues() throws Exception {
    BlipImagePreprocessor pre = BlipImagePreprocessor.load(fixture.dir, model.config().vision());
    try (NDManager call = manager.newSubManager()) {
      fixture.assertClose("inputs.pixel_values", pre.pixelValues(fixture.images(false), call));
      // The resized copies pass through the resampler unchanged.
      fixture.assertClose("inputs.pixel_values", pre.pixelValues(fixture.images(true), call));
    }
  }

  @Test
  void visionTowerMatchesEveryStage() {
    try (NDManager call = manager.newSubManager()) {
      NDArray pixels = pixelValues(call);
      NDArray embedded = model.vision().embed(pixels);
      fixture.assertClose("caption.vision_embeddings", embedded);
      fixture.assertClose("caption.vision_pre_norm", model.vision().encode(embedded));
      fixture.assertClose("caption.vision_last_hidden_state", model.encodeImages(pixels));
    }
  }

  @Test
  void promptTokensAndTeacherForcedDecoderMatch() {
    long[] prompt = tokenizer.captionPrompt(fixture.golden.path("caption").path("prompt").asText());
    assertThat(prompt).containsExactly(fixture.longs("caption.prompt_ids"));
    try (NDManager call = manager.newSubManager()) {
      NDArray states = model.encodeImages(pixelValues(call));
      NDArray ids = call.create(new long[][] {prompt, prompt, prompt, prompt});
      fixture.assertClose("caption.decoder_embeddings", model.decoder().embeddings().forward(ids, 0));
      fixture.assertClose("caption.decoder_last_hidden_state", model.decoderHiddenStates(states, ids));
      fixture.assertClose("caption.prompt_logits", model.logits(states, ids));
    }
  }

  @Test
  void greedyCaptionsMatchWithAndWithoutKvCache() {
    long[] prompt = fixture.longs("caption.prompt_ids");
    long[][] expectedIds = fixture.longRows("caption.greedy_ids");
    float[] expectedStepLogits = fixture.floats("caption.greedy_step_logits_img0");
    double atol = fixture.atol("caption.greedy_step_logits_img0");
    GenerationConfig greedy = GenerationConfig.greedy(expectedIds[0].length, 102, 0);
    try (NDManager call = manager.newSubManager()) {
      NDArray states = model.encodeImages(pixelValues(call));
      GenerationResult uncached = model.generate(states, prompt, greedy, false, true);
      GenerationResult cached = model.generate(states, prompt, greedy, true, true);
      for (GenerationResult result : new GenerationResult[] {uncached, cached}) {
        assertThat(result.sequences()).isDeepEqualTo(expectedIds);
        BlipFixture.assertClose("step logits image 0", flatten(result.stepLogits()[0]), expectedStepLogits, atol);
      }
      // The cache must not change what the decoder computes at any step, for any image.
      for (int i = 0; i < expectedIds.length; i++) {
        BlipFixture.assertClose("cached vs uncached image " + i,
            flatten(cached.stepLogits()[i]), flatten(uncached.stepLogits()[i]), atol);
      }
    }
  }

  @Test
  void unconditionalCaptionStartsFromDecAlone() {
    long[] prompt = tokenizer.captionPrompt("");
    assertThat(prompt).containsExactly(30522L);
    try (NDManager call = manager.newSubManager()) {
      NDArray states = model.encodeImages(pixelValues(call));
      GenerationResult result = model.generate(states, prompt, GenerationConfig.greedy(6, 102, 0), true, true);
      NDArray teacherForced = model.logits(states, call.create(new long[][] {{30522}, {30522}, {30522}, {30522}}));
      float[] firstPositions = teacherForced.toFloatArray();
      int vocab = model.config().text().vocabSize();
      for (int i = 0; i < 4; i++) {
        assertThat(result.sequences()[i]).hasSize(6).startsWith(30522L);
        BlipFixture.assertClose("first step, image " + i, result.stepLogits()[i][0],
            Arrays.copyOfRange(firstPositions, i * vocab, (i + 1) * vocab), fixture.atol("caption.prompt_logits"));
      }
    }
  }

  @Test
  void beamSearchIsTheSameWithAndWithoutCacheAndLeavesNothingInTheWeightsManager() {
    int weights = manager.getManagedArrays().size();
    assertThat(weights).as("weights held by the model manager").isPositive();
    long[] prompt = fixture.longs("caption.prompt_ids");
    GenerationConfig original = new GenerationConfig(12, 8, 3, 1f, 1f, 102, 0);
    try (NDManager call = manager.newSubManager()) {
      NDArray states = model.encodeImages(pixelValues(call));
      GenerationResult cached = model.generate(states, prompt, original, true, true);
      GenerationResult uncached = model.generate(states, prompt, original, false, true);
      assertThat(cached.sequences()).isDeepEqualTo(uncached.sequences());
      for (int i = 0; i < 4; i++) {
        assertThat(cached.sequences()[i]).startsWith(prompt).hasSize(12);
        BlipFixture.assertClose("beam logits image " + i, flatten(cached.stepLogits()[i]),
            flatten(uncached.stepLogits()[i]), fixture.atol("caption.greedy_step_logits_img0"));
      }
    }
    assertThat(manager.getManagedArrays()).hasSize(weights);
  }

  private static NDArray pixelValues(NDManager call) {
    return call.create(fixture.floats("inputs.pixel_values"), new Shape(fixture.shape("inputs.pixel_values")));
  }

  static float[] flatten(float[][] rows) {
    int n = Arrays.stream(rows).mapToInt(r -> r.length).sum();
    float[] out = new float[n];
    int at = 0;
    for (float[] r : rows) {
      System.arraycopy(r, 0, out, at, r.length);
      at += r.length;
    }
    return out;
  }
}
