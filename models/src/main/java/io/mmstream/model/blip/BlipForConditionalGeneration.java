package io.mmstream.model.blip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.tensor.WeightStore;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * BLIP image captioning (HF {@code BlipForConditionalGeneration}, the original {@code BLIP_Decoder}):
 * the ViT encodes the image once; the text decoder, cross-attending to all image tokens, continues
 * a prompt that starts with [DEC].
 */
public final class BlipForConditionalGeneration extends BlipModel {
  private BlipForConditionalGeneration(BlipConfig config, WeightStore store) {
    super(config, store, BlipConfig.Task.CAPTIONING);
  }

  /** Loads {@code config.json} and the safetensors of {@code modelDirectory}; tensors live in {@code manager}. */
  public static BlipForConditionalGeneration load(Path modelDirectory, NDManager manager) throws IOException {
    return BlipModel.open(
        modelDirectory, manager, BlipConfig.Task.CAPTIONING, "captioning", BlipForConditionalGeneration::fromStore);
  }

  /** A model of {@code config}'s shapes with random weights (benchmarks). */
  public static BlipForConditionalGeneration random(BlipConfig config, NDManager manager, long seed) {
    return fromStore(config, BlipWeights.random(manager, seed));
  }

  /** A model over {@code store}'s tensors (a checkpoint, random presets, parameters in training). */
  public static BlipForConditionalGeneration fromStore(BlipConfig config, WeightStore store) {
    return BlipModel.build(config, store, BlipForConditionalGeneration::new);
  }

  public BlipTextModel decoder() {
    return decoder;
  }

  /** Teacher-forced decoder states {@code [B, L, H]} for {@code ids [B, L]}. */
  public NDArray decoderHiddenStates(NDArray imageStates, NDArray ids) {
    return decoder.decode(ids, null, imageStates, null);
  }

  /** Teacher-forced logits {@code [B, L, V]} for {@code ids [B, L]}. */
  public NDArray logits(NDArray imageStates, NDArray ids) {
    NDArray hidden = decoderHiddenStates(imageStates, ids);
    NDArray logits = head.forward(hidden);
    hidden.close();
    return logits;
  }

  /**
   * Continues {@code prompt} (which starts with [DEC]) for every image.
   *
   * @param imageStates {@code [B, S, C]} from {@link #encodeImages}
   * @param useKvCache false recomputes the whole sequence at every step (the reference)
   */
  public GenerationResult generate(
      NDArray imageStates, long[] prompt, GenerationConfig generation, boolean useKvCache, boolean recordLogits) {
    long[][] prompts = new long[(int) imageStates.getShape().get(0)][];
    Arrays.fill(prompts, prompt);
    try (BlipDecoderSession session = new BlipDecoderSession(decoder, head, imageStates, null, useKvCache)) {
      return SequenceGenerator.generate(session, prompts, generation, recordLogits);
    }
  }
}
