package io.mmstream.model.visualglm;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import io.mmstream.image.PixelImage;
import io.mmstream.model.blip.BlipImagePreprocessor;
import io.mmstream.model.blip.BlipVisionModel;
import io.mmstream.model.chatglm.ChatGlmModel;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * VisualGLM-6B ({@code ChatGLMForConditionalGenerationWithImage} of THUDM's remote code): EVA ViT →
 * {@code ln_vision} → Q-Former → {@code glm_proj} gives {@code image_length} image embeddings, which replace the
 * prompt's image placeholder tokens (never embedded) in ChatGLM's input embeddings; generation then runs ChatGLM
 * with its KV cache.
 */
public final class VisualGlmForConditionalGeneration implements AutoCloseable {
  /**
   * Keys the checkpoint carries that the original does not load: the rotary tables (recomputed) and
   * {@code lm_head.weight} (replaced by the word embeddings when {@code from_pretrained} ties them).
   */
  public static final String[] IGNORABLE_KEYS = {
    "transformer\\.layers\\.\\d+\\.attention\\.rotary_emb\\.inv_freq",
    "lm_head\\.weight",
  };

  private final VisualGlmConfig config;
  private final WeightStore store;
  private final VisualGlmImageEncoder imageEncoder;
  private final ChatGlmModel languageModel;
  private final BlipImagePreprocessor preprocessor;

  private VisualGlmForConditionalGeneration(VisualGlmConfig config, WeightStore store) {
    this.config = config;
    this.store = store;
    Weights w = new Weights(store);
    this.imageEncoder = VisualGlmImageEncoder.load(w.sub("image_encoder"), config);
    this.languageModel = ChatGlmModel.load(w.sub("transformer"), config.glm());
    // The original's BlipImageEvalProcessor: bicubic resize to the ViT's size, CLIP statistics.
    this.preprocessor = BlipImagePreprocessor.forVision(config.vision());
    store.requireAllUsed(IGNORABLE_KEYS);
  }

  /** Loads config.json and the checkpoint of {@code modelDirectory}; computes in float32 (stored float16 is widened). */
  public static VisualGlmForConditionalGeneration load(Path modelDirectory, NDManager manager) throws IOException {
    VisualGlmConfig config = VisualGlmConfig.load(modelDirectory);
    return fromStore(config, CheckpointWeightStore.open(modelDirectory, manager, DataType.FLOAT32, false));
  }

  /** A model over any weight store; the store is closed when building fails. */
  static VisualGlmForConditionalGeneration fromStore(VisualGlmConfig config, WeightStore store) {
    return WeightStore.buildOrClose(store, built -> new VisualGlmForConditionalGeneration(config, built));
  }

  public VisualGlmConfig config() {
    return config;
  }

  public BlipVisionModel vision() {
    return imageEncoder.vision();
  }

  public VisualGlmQFormer qformer() {
    return imageEncoder.qformer();
  }

  public ChatGlmModel languageModel() {
    return languageModel;
  }

  /** {@code pixel_values [B, 3, S, S]} as the original's {@code BlipImageEvalProcessor} makes them. */
  public NDArray pixelValues(List<PixelImage> images, NDManager manager) {
    return preprocessor.pixelValues(images, manager);
  }

  /** Image embeddings {@code [B, image_length, H_glm]}: ViT, {@code ln_vision}, Q-Former, {@code glm_proj}. */
  public NDArray imageEmbeds(NDArray pixelValues) {
    return imageEncoder.forward(pixelValues.toType(store.floatType(), false));
  }

  /**
   * ChatGLM's input embeddings {@code [1, L, H]} for {@code ids}: word embeddings, except that the
   * {@code image_length} placeholders from {@code preImageLength} on are replaced by {@code imageEmbeds [1, N, H]}.
   */
  public NDArray inputsEmbeds(long[] ids, NDArray imageEmbeds, int preImageLength) {
    NDManager manager = imageEmbeds.getManager();
    int after = preImageLength + config.imageLength();
    if (after > ids.length) {
      throw new IllegalArgumentException(
          "prompt of " + ids.length + " ids has no room for " + config.imageLength() + " image tokens");
    }
    NDArray before = languageModel.embed(manager.create(Arrays.copyOfRange(ids, 0, preImageLength)).expandDims(0));
    NDArray rest = languageModel.embed(manager.create(Arrays.copyOfRange(ids, after, ids.length)).expandDims(0));
    return NDArrays.concat(new NDList(before, imageEmbeds.toType(before.getDataType(), false), rest), 1);
  }

  /**
   * Greedy or beam search after {@code promptIds} ({@code [gMASK] <sop>} at the end).
   *
   * @param promptEmbeds the prompt's input embeddings {@code [1, L, H]} with the image spliced in, or null for a
   *     text-only prompt
   * @param generation lengths count the prompt, as the original's {@code max_length}/{@code min_length}
   * @param watch wraps the decoder the search drives (a text streamer), or null
   * @return the prompt followed by the generated ids, and per-step logits when asked for
   */
  public GenerationResult generate(long[] promptIds, NDArray promptEmbeds, GenerationConfig generation,
      boolean recordLogits, NDManager manager, UnaryOperator<IncrementalDecoder> watch) {
    return languageModel.generate(promptIds, promptEmbeds, generation, recordLogits, manager, watch);
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}
