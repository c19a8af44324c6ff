package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.chatglm.ChatGlmConfig;
import io.mmstream.model.chatglm.ChatGlmModel;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.Weights;
import io.mmstream.model.visualglm.VisualGlmConfig;
import io.mmstream.model.visualglm.VisualGlmImageEncoder;
import java.util.Arrays;

/**
 * THUDM/visualglm-6b shapes: EVA ViT-g/14 (39 layers at 224 px) + BLIP-2's Q-Former (32 queries) + projection, and
 * ChatGLM-6B layers with the 130528-token embedding (which is also the head). The released checkpoint stores the
 * language model (about six sevenths of the weights) in float16 and the image module in float32; the original's
 * demos run all of it in half precision on GPU.
 */
final class VisualGlmBenchPreset implements ChatBenchPreset {
  /** Standard deviation of the random weights (sat's Linear init). */
  private static final float WEIGHT_STD = 0.02f;

  @Override
  public String name() {
    return "visualglm-6b-shapes";
  }

  @Override
  public String storedPrecision() {
    return "F16";
  }

  @Override
  public VisionPart vision(NDManager manager, DataType type, long seed) {
    VisualGlmConfig config = VisualGlmConfig.visualGlm6b();
    VisualGlmImageEncoder encoder = VisualGlmImageEncoder.load(
        new Weights(new RandomWeightStore(manager, type, seed, WEIGHT_STD)).sub("image_encoder"), config);
    return new VisionPart(config.vision().imageSize(), encoder::forward, () -> { });
  }

  @Override
  public LanguagePart language(NDManager manager, DataType type, int layers, long seed) {
    VisualGlmConfig full = VisualGlmConfig.visualGlm6b();
    ChatGlmConfig glm = full.glm().withNumLayers(layers);
    ChatGlmModel model = ChatGlmModel.load(
        new Weights(new RandomWeightStore(manager, type, seed, WEIGHT_STD)).sub("transformer"), glm);
    return new LanguagePart(full.imageLength(), glm.hiddenSize(), (inputsEmbeds, newTokens) -> {
      // The prompt's ids only place the generated block: it ends [gMASK] <sop>, as every chat prompt does.
      int length = (int) inputsEmbeds.getShape().get(1);
      long[] ids = new long[length];
      Arrays.fill(ids, glm.padTokenId());
      ids[length - 2] = glm.gmaskTokenId();
      ids[length - 1] = glm.bosTokenId();
      // The stop token is forbidden until newTokens, so every run decodes the same count.
      GenerationConfig exact = new GenerationConfig(
          length + newTokens, length + newTokens, 1, 1f, 1f, glm.eosTokenId(), glm.padTokenId());
      model.generate(ids, inputsEmbeds, exact, false, inputsEmbeds.getManager(), null);
    }, () -> { });
  }
}
