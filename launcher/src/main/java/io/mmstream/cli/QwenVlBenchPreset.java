package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.qwen.QwenConfig;
import io.mmstream.model.qwen.QwenLMHeadModel;
import io.mmstream.model.qwen.QwenTokenizer;
import io.mmstream.model.qwenvl.QwenVisionTransformer;
import io.mmstream.model.qwenvl.QwenVisualConfig;
import io.mmstream.model.qwenvl.QwenVlDecoder;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.Weights;
import java.util.Set;

/**
 * Qwen/Qwen-VL-Chat shapes: the ViT-bigG at 448 px (48 layers, width 1664, 1024 patches) with its 256-query resampler,
 * and Qwen-7B layers with the 151936-row embedding and untied head. The released weights are bfloat16.
 */
final class QwenVlBenchPreset implements ChatBenchPreset {
  /** Spread of the random weights: small enough that activations stay finite through 48 layers. */
  private static final float RANDOM_STD = 0.02f;
  /** Qwen's {@code <|endoftext|>} in the released vocabulary (151643 ranks, then the specials). */
  private static final long END_OF_TEXT = 151643;

  @Override
  public String name() {
    return "qwen-vl-chat-shapes";
  }

  @Override
  public String storedPrecision() {
    return "BF16";
  }

  @Override
  public VisionPart vision(NDManager manager, DataType type, long seed) {
    QwenVisualConfig config = QwenVisualConfig.qwenVlChat();
    QwenVisionTransformer visual =
        QwenVisionTransformer.load(new Weights(new RandomWeightStore(manager, type, seed, RANDOM_STD)), config);
    return new VisionPart(config.imageSize(), visual::forward, () -> { });
  }

  @Override
  public LanguagePart language(NDManager manager, DataType type, int layers, long seed) {
    QwenConfig config = QwenConfig.qwenVlChat().withLayers(layers);
    QwenLMHeadModel model =
        QwenLMHeadModel.load(new Weights(new RandomWeightStore(manager, type, seed, RANDOM_STD)), config);
    return new LanguagePart(QwenTokenizer.IMAGE_SPAN + 2, config.hiddenSize(), (inputsEmbeds, newTokens) -> {
      try (NDManager call = manager.newSubManager();
          QwenVlDecoder decoder =
              new QwenVlDecoder(model, call, inputsEmbeds, 0, Set.of(), END_OF_TEXT, id -> { }, false)) {
        // The stop token is forbidden until newTokens, so every run decodes the same count.
        SequenceGenerator.generate(decoder, new long[][] {{}},
            new GenerationConfig(newTokens, newTokens, 1, 1f, 1f, END_OF_TEXT, END_OF_TEXT), false);
      }
    }, () -> { });
  }
}
