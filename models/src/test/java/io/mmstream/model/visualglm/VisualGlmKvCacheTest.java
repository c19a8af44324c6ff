package io.mmstream.model.visualglm;

import static org.assertj.core.api.Assertions.assertThat;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.chatglm.ChatGlmConfig;
import io.mmstream.model.chatglm.GlmPrefix;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.tensor.RandomWeightStore;
import java.io.IOException;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The cached decoder against a full recompute of the whole sequence at every step (what the original's
 * {@code get_position_ids}/{@code get_masks} give for the longer sequence), on random weights of the fixture's
 * shapes with an image spliced in.
 */
class VisualGlmKvCacheTest {
  /** Large enough that the logits spread over several units (the presets' 0.02 leaves them near 0.01). */
  private static final float WEIGHT_STD = 0.5f;

  @Test
  void cachedStepsEqualFullRecompute() throws IOException {
    VisualGlmConfig config = VisualGlmConfig.load(VisualGlmFixture.DIR);
    ChatGlmConfig glm = config.glm();
    try (NDManager manager = NDManager.newBaseManager();
        VisualGlmForConditionalGeneration model = VisualGlmForConditionalGeneration.fromStore(
            config, new RandomWeightStore(manager, DataType.FLOAT32, 5, WEIGHT_STD))) {
      int pre = 3;
      long[] prompt = new long[pre + config.imageLength() + 6];
      for (int i = 0; i < prompt.length; i++) {
        prompt[i] = 90 + i % 40;
      }
      prompt[prompt.length - 2] = glm.gmaskTokenId();
      prompt[prompt.length - 1] = glm.bosTokenId();
      NDArray pixels = manager.randomNormal(new Shape(1, 3, 224, 224));
      NDArray imageEmbeds = model.imageEmbeds(pixels);
      assertThat(imageEmbeds.getShape()).isEqualTo(new Shape(1, config.imageLength(), glm.hiddenSize()));
      NDArray embeds = model.inputsEmbeds(prompt, imageEmbeds, pre);
      int steps = 6;
      // Stop and pad ids outside the vocabulary: every step is taken.
      GenerationResult result = model.generate(prompt, embeds,
          GenerationConfig.greedy(prompt.length + steps, -1, -1), true, manager, null);
      long[] sequence = result.sequences()[0];
      assertThat(sequence).hasSize(prompt.length + steps);
      for (int k = 1; k < steps; k++) {
        int length = prompt.length + k;
        long[] ids = Arrays.copyOf(sequence, length);
        NDArray generated = model.languageModel().embed(
            manager.create(Arrays.copyOfRange(ids, prompt.length, length)).expandDims(0));
        NDArray all = embeds.concat(generated, 1);
        GlmPrefix prefix = GlmPrefix.of(ids, glm);
        long[][] p = prefix.positionIds(length);
        long[] flat = Arrays.copyOf(p[0], 2 * length);
        System.arraycopy(p[1], 0, flat, length, length);
        NDArray hidden = model.languageModel().hiddenStates(all, manager.create(flat, new Shape(1, 2, length)),
            prefix.additiveMask(manager, length), null, null);
        float[] full = model.languageModel().logits(hidden.get(":, -1, :")).toFloatArray();
        float[] cached = result.stepLogits()[0][k];
        float worst = 0;
        float largest = 0;
        for (int v = 0; v < full.length; v++) {
          worst = Math.max(worst, Math.abs(full[v] - cached[v]));
          largest = Math.max(largest, Math.abs(full[v]));
        }
        assertThat(largest).as("logits must vary for the comparison to mean anything").isGreaterThan(0.1f);
        assertThat(worst).as("step " + k).isLessThan(1e-5f * Math.max(1f, largest));
      }
    }
  }
}
