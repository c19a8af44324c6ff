package io.mmstream.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.llava.LlavaConfig;
import io.mmstream.model.llava.LlavaForConditionalGeneration;
import java.io.IOException;
import java.io.UncheckedIOException;

/**
 * llava-hf/llava-1.5-7b-hf shapes: CLIP ViT-L/14-336 (24 layers) + projector, and Vicuna-7B v1.5 layers with the
 * 32064-token embedding and head. The released weights are float16.
 */
final class LlavaBenchPreset implements ChatBenchPreset {

  @Override
  public String name() {
    return "llava-1.5-7b-shapes";
  }

  @Override
  public String storedPrecision() {
    return "F16";
  }

  @Override
  public VisionPart vision(NDManager manager, DataType type, long seed) {
    LlavaConfig full = LlavaConfig.llava15x7b();
    LlavaForConditionalGeneration model = LlavaForConditionalGeneration.random(
        full.withLayers(full.vision().numHiddenLayers(), 0), manager, type, seed);
    return new VisionPart() {
      @Override
      public int imageSize() {
        return full.vision().imageSize();
      }

      @Override
      public NDArray encode(NDArray pixels) {
        return model.encodeImages(pixels);
      }

      @Override
      public void close() {
        closeModel(model);
      }
    };
  }

  @Override
  public LanguagePart language(NDManager manager, DataType type, int layers, long seed) {
    LlavaConfig config = LlavaConfig.llava15x7b().withLayers(0, layers);
    LlavaForConditionalGeneration model = LlavaForConditionalGeneration.random(config, manager, type, seed);
    long eos = config.text().eosTokenIds().get(0);
    long pad = config.text().padTokenId();
    return new LanguagePart() {
      @Override
      public int imageTokens() {
        return LlavaConfig.llava15x7b().imageTokens();
      }

      @Override
      public int hiddenSize() {
        return config.text().hiddenSize();
      }

      @Override
      public void generate(NDArray inputsEmbeds, int newTokens) {
        // The stop token is forbidden until newTokens, so every run decodes the same count.
        model.generate(inputsEmbeds, new GenerationConfig(newTokens, newTokens, 1, 1f, 1f, eos, pad), true, false);
      }

      @Override
      public void close() {
        closeModel(model);
      }
    };
  }

  private static void closeModel(LlavaForConditionalGeneration model) {
    try {
      model.close();
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
