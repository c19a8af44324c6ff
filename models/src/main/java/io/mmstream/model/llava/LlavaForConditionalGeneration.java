package io.mmstream.model.llava;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.clip.ClipVisionTransformer;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.IncrementalDecoder;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.llama.LlamaForCausalLM;
import io.mmstream.model.llama.LlamaPrefixDecoder;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.DeviceMemory;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * LLaVA-1.5 over a llava-hf checkpoint ({@code LlavaForConditionalGeneration}): CLIP vision tower → the hidden
 * state of {@code vision_feature_layer} (CLS dropped by the "default" strategy) → MLP projector → rows spliced into
 * the LLaMA input at the image marker, as the original's {@code prepare_inputs_labels_for_multimodal} does.
 */
public final class LlavaForConditionalGeneration implements AutoCloseable {
  /** The original's {@code IMAGE_TOKEN_INDEX}: the marker in prompt ids where an image's rows go. */
  public static final long IMAGE_MARKER = -200;

  /** Keys llava-hf checkpoints may carry that hold no weights: rotary tables and position-id buffers. */
  public static final String[] IGNORABLE_KEYS = {
    "language_model\\.model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq",
    "vision_tower\\.vision_model\\.embeddings\\.position_ids",
  };

  /** Standard deviation of random preset weights (the models' initializer range). */
  private static final float RANDOM_STD = 0.02f;

  private final LlavaConfig config;
  private final WeightStore store;
  private final ClipVisionTransformer visionTower;
  private final LlavaMultiModalProjector projector;
  private final LlamaForCausalLM languageModel;

  private LlavaForConditionalGeneration(LlavaConfig config, WeightStore store) {
    this.config = config;
    this.store = store;
    Weights w = new Weights(store);
    this.visionTower = ClipVisionTransformer.load(w.sub("vision_tower").sub("vision_model"), config.vision());
    this.projector = LlavaMultiModalProjector.load(w.sub("multi_modal_projector"), config);
    this.languageModel = LlamaForCausalLM.load(w.sub("language_model"), config.text());
    store.requireAllUsed(IGNORABLE_KEYS);
  }

  /**
   * Loads config.json and the (possibly sharded) safetensors of {@code modelDirectory} onto {@code manager}'s
   * device: float16 checkpoints keep their precision on GPU, the CPU computes in float32. Fails before loading
   * when the weights do not fit.
   */
  public static LlavaForConditionalGeneration load(Path modelDirectory, NDManager manager) throws IOException {
    LlavaConfig config = LlavaConfig.load(modelDirectory);
    DataType computeType;
    try (CheckpointWeightStore probe = CheckpointWeightStore.open(modelDirectory, manager, DataType.FLOAT32, false)) {
      computeType = CheckpointWeightStore.computeType(manager.getDevice(), probe.storedDtypes());
    }
    CheckpointWeightStore store = CheckpointWeightStore.open(modelDirectory, manager, computeType, false);
    try {
      Device device = manager.getDevice();
      DeviceMemory.requireFits(modelDirectory.toString(), store.loadedBytes(), DeviceMemory.availableBytes(device),
          device);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    return fromStore(config, store);
  }

  /** A model of {@code config}'s shapes with random weights in {@code type} (benchmarks). */
  public static LlavaForConditionalGeneration random(LlavaConfig config, NDManager manager, DataType type, long seed) {
    return fromStore(config, new RandomWeightStore(manager, type, seed, RANDOM_STD));
  }

  /** A model over {@code store}'s tensors (the demo trainer hands in parameters being trained); closes it on failure. */
  public static LlavaForConditionalGeneration fromStore(LlavaConfig config, WeightStore store) {
    return WeightStore.buildOrClose(store, built -> new LlavaForConditionalGeneration(config, built));
  }

  public LlavaConfig config() {
    return config;
  }

  public DataType computeType() {
    return store.floatType();
  }

  public ClipVisionTransformer visionTower() {
    return visionTower;
  }

  public LlavaMultiModalProjector projector() {
    return projector;
  }

  public LlamaForCausalLM languageModel() {
    return languageModel;
  }

  /** The tower's output with every hidden state (HF {@code output_hidden_states=True}). */
  public ClipVisionTransformer.Output visionOutput(NDArray pixelValues) {
    return visionTower.forward(pixelValues.toType(computeType(), false), true);
  }

  /** {@code feature_select}: the configured hidden state, without CLS unless the strategy is "full". */
  public NDArray selectFeatures(List<NDArray> hiddenStates) {
    NDArray state = hiddenStates.get(config.featureStateIndex());
    return config.keepClassToken() ? state : state.get(new NDIndex(":, 1:, :"));
  }

  /** Projected image features {@code [B, N, D_llm]} for {@code pixelValues [B, 3, S, S]}. */
  public NDArray encodeImages(NDArray pixelValues) {
    ClipVisionTransformer.Output out = visionOutput(pixelValues);
    return projector.forward(selectFeatures(out.hiddenStates()));
  }

  /**
   * The language model's input {@code [1, S, D]}: token embeddings of {@code promptIds} with the rows of image
   * {@code i} ({@code imageFeatures[i]}, {@code [N, D]}; null without images) in place of the i-th
   * {@link #IMAGE_MARKER}; new arrays live in {@code manager}.
   */
  public NDArray inputsEmbeds(NDManager manager, long[] promptIds, NDArray imageFeatures) {
    long markers = Arrays.stream(promptIds).filter(id -> id == IMAGE_MARKER).count();
    long images = imageFeatures == null ? 0 : imageFeatures.getShape().get(0);
    if (markers != images) {
      throw new IllegalArgumentException("prompt has " + markers + " image marker(s) for " + images + " image(s)");
    }
    List<NDArray> parts = new ArrayList<>();
    int image = 0;
    int start = 0;
    for (int i = 0; i <= promptIds.length; i++) {
      if (i == promptIds.length || promptIds[i] == IMAGE_MARKER) {
        if (i > start) {
          long[] chunk = Arrays.copyOfRange(promptIds, start, i);
          parts.add(languageModel.embed(manager.create(chunk)));
        }
        if (i < promptIds.length) {
          parts.add(imageFeatures.get(image++));
        }
        start = i + 1;
      }
    }
    return NDArrays.concat(new NDList(parts), 0).expandDims(0);
  }

  /**
   * Greedy or beam search after {@code inputsEmbeds [1, S, D]}; lengths count generated tokens only.
   *
   * @param useKvCache false recomputes the whole sequence at every step (the reference path)
   */
  public GenerationResult generate(
      NDArray inputsEmbeds, GenerationConfig generation, boolean useKvCache, boolean recordLogits) {
    return generate(inputsEmbeds, generation, useKvCache, recordLogits, UnaryOperator.identity());
  }

  /** As above, the search seeing the decoder through {@code watch} (e.g. to stream the text). */
  public GenerationResult generate(NDArray inputsEmbeds, GenerationConfig generation, boolean useKvCache,
      boolean recordLogits, UnaryOperator<IncrementalDecoder> watch) {
    long batch = inputsEmbeds.getShape().get(0);
    NDArray mask = inputsEmbeds.getManager().ones(new Shape(batch, inputsEmbeds.getShape().get(1)), DataType.INT64);
    try (LlamaPrefixDecoder session = new LlamaPrefixDecoder(languageModel, inputsEmbeds, mask, useKvCache)) {
      return SequenceGenerator.generate(watch.apply(session), new long[(int) batch][0], generation, recordLogits);
    } finally {
      mask.close();
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}
