package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.llava.LlavaConfig;
import io.mmstream.model.llava.LlavaForConditionalGeneration;

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
    return new VisionPart(full.vision().imageSize(), model::encodeImages, model::close);
  }

  @Override
  public LanguagePart language(NDManager manager, DataType type, int layers, long seed) {
    LlavaConfig config = LlavaConfig.llava15x7b().withLayers(0, layers);
    LlavaForConditionalGeneration model = LlavaForConditionalGeneration.random(config, manager, type, seed);
    long eos = config.text().eosTokenIds().get(0);
    long pad = config.text().padTokenId();
    return new LanguagePart(LlavaConfig.llava15x7b().imageTokens(), config.text().hiddenSize(),
        // The stop token is forbidden until newTokens, so every run decodes the same count.
        (inputsEmbeds, newTokens) -> model.generate(inputsEmbeds,
            new GenerationConfig(newTokens, newTokens, 1, 1f, 1f, eos, pad), true, false),
        model::close);
  }

}
