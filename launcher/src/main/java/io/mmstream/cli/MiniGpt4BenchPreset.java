package io.mmstream.cli;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.llama.LlamaPrefixDecoder;
import io.mmstream.model.minigpt4.MiniGpt4Config;
import io.mmstream.model.minigpt4.MiniGpt4Model;

/**
 * MiniGPT-4 7B shapes: EVA ViT-g/14 at 224 (39 blocks) + ln_vision + the bert-base Q-Former with 32 queries +
 * llama_proj, and Vicuna-7B layers with its 32001-token embedding and head. The released files are float16.
 */
final class MiniGpt4BenchPreset implements ChatBenchPreset {

  @Override
  public String name() {
    return "minigpt4-7b-shapes";
  }

  @Override
  public String storedPrecision() {
    return "F16";
  }

  @Override
  public VisionPart vision(NDManager manager, DataType type, long seed) {
    MiniGpt4Config full = MiniGpt4Config.vicuna7b();
    MiniGpt4Model model = MiniGpt4Model.random(
        full.withLayers(full.vision().numHiddenLayers(), full.qformer().numHiddenLayers(), 0), manager, type, seed);
    return new VisionPart(full.vision().imageSize(), model::encodeImage, model::close);
  }

  @Override
  public LanguagePart language(NDManager manager, DataType type, int layers, long seed) {
    MiniGpt4Config config = MiniGpt4Config.vicuna7b().withLayers(0, 0, layers);
    MiniGpt4Model model = MiniGpt4Model.random(config, manager, type, seed);
    long eos = config.text().eosTokenIds().get(0);
    long pad = config.text().padTokenId();
    return new LanguagePart(config.numQueryTokens(), config.text().hiddenSize(), (inputsEmbeds, newTokens) -> {
      // The stop token is forbidden until newTokens, so every run decodes the same count.
      try (LlamaPrefixDecoder decoder = model.decoder(inputsEmbeds)) {
        SequenceGenerator.generate(decoder, new long[1][0],
            new GenerationConfig(newTokens, newTokens, 1, 1f, 1f, eos, pad), false);
      }
    }, model::close);
  }

}
