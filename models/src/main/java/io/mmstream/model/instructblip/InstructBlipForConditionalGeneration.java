package io.mmstream.model.instructblip;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.blip.BlipVisionModel;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.llama.LlamaForCausalLM;
import io.mmstream.model.llama.LlamaPrefixDecoder;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.DeviceMemory;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.nio.file.Path;

/**
 * InstructBLIP with a LLaMA/Vicuna language model (HF {@code InstructBlipForConditionalGeneration},
 * LAVIS {@code Blip2VicunaInstruct}): EVA ViT → {@code ln_vision} → instruction-aware Q-Former →
 * language projection → LLaMA over {@code [projected queries; </s> prompt]}.
 */
public final class InstructBlipForConditionalGeneration implements AutoCloseable {
  /** Keys HF checkpoints may carry that hold no weights: rotary tables and position-id buffers. */
  public static final String[] IGNORABLE_KEYS = {
    "language_model\\.model\\.layers\\.\\d+\\.self_attn\\.rotary_emb\\.inv_freq",
    "qformer\\.embeddings\\.position_ids",
  };

  /** Standard deviation of random preset weights (the models' initializer range). */
  private static final float RANDOM_STD = 0.02f;

  private final InstructBlipConfig config;
  private final WeightStore store;
  private final BlipVisionModel vision;
  private final NDArray queryTokens;
  private final InstructBlipQFormer qformer;
  private final Linear languageProjection;
  private final LlamaForCausalLM languageModel;

  private InstructBlipForConditionalGeneration(InstructBlipConfig config, WeightStore store, InstructBlipOptions options) {
    this.config = config;
    this.store = store;
    Weights w = new Weights(store);
    double lnVisionEps = options.lnVisionEps() == InstructBlipOptions.LnVisionEps.ORIGINAL
        ? InstructBlipConfig.ORIGINAL_LN_VISION_EPS
        : config.vision().layerNormEps();
    this.vision = BlipVisionModel.load(w.sub("vision_model"), config.vision(), lnVisionEps);
    int qHidden = config.qformer().hiddenSize();
    this.queryTokens = w.get("query_tokens", 1, config.numQueryTokens(), qHidden);
    this.qformer = InstructBlipQFormer.load(w.sub("qformer"), config.qformer());
    this.languageProjection = Linear.load(w.sub("language_projection"), qHidden, config.text().hiddenSize(), true);
    this.languageModel = LlamaForCausalLM.load(w.sub("language_model"), config.text());
    store.requireAllUsed(IGNORABLE_KEYS);
  }

  /**
   * Loads {@code config.json} and the (possibly sharded) safetensors of {@code modelDirectory} onto
   * {@code manager}'s device. On GPU the weights keep their stored half precision and the model
   * computes in it; on CPU they are widened to float32. Fails before loading when they do not fit.
   */
  public static InstructBlipForConditionalGeneration load(
      Path modelDirectory, NDManager manager, InstructBlipOptions options) throws IOException {
    InstructBlipConfig config = InstructBlipConfig.load(modelDirectory);
    DataType computeType;
    try (CheckpointWeightStore probe = CheckpointWeightStore.open(modelDirectory, manager, DataType.FLOAT32, false)) {
      computeType = CheckpointWeightStore.computeType(manager.getDevice(), probe.storedDtypes());
    }
    CheckpointWeightStore store = CheckpointWeightStore.open(modelDirectory, manager, computeType, false);
    try {
      Device device = manager.getDevice();
      DeviceMemory.requireFits(modelDirectory.toString(), store.loadedBytes(),
          options.memoryBudgetBytes().orElseGet(() -> DeviceMemory.availableBytes(device)), device);
    } catch (RuntimeException e) {
      store.close();
      throw e;
    }
    return fromStore(config, store, options);
  }

  /** A model of {@code config}'s shapes with random weights (benchmarks). */
  public static InstructBlipForConditionalGeneration random(
      InstructBlipConfig config, NDManager manager, DataType type, long seed) {
    return fromStore(config, new RandomWeightStore(manager, type, seed, RANDOM_STD), InstructBlipOptions.defaults());
  }

  /** A model over any weight store; the store is closed when building fails. */
  static InstructBlipForConditionalGeneration fromStore(
      InstructBlipConfig config, WeightStore store, InstructBlipOptions options) {
    return WeightStore.buildOrClose(store, built -> new InstructBlipForConditionalGeneration(config, built, options));
  }

  public InstructBlipConfig config() {
    return config;
  }

  public DataType computeType() {
    return store.floatType();
  }

  public BlipVisionModel vision() {
    return vision;
  }

  public InstructBlipQFormer qformer() {
    return qformer;
  }

  public LlamaForCausalLM languageModel() {
    return languageModel;
  }

  /** {@code pixelValues [B, 3, H, W]} to image states {@code [B, S, W]} after {@code ln_vision}. */
  public NDArray encodeImages(NDArray pixelValues) {
    return vision.forward(pixelValues.toType(computeType(), false));
  }

  /** The Q-Former's embedding output {@code [B, Q + L, H]} for instruction ids {@code [B, L]}. */
  public NDArray qformerEmbeddings(NDArray qformerIds) {
    return qformer.embed(queryTokens, qformerIds);
  }

  /** The Q-Former's last hidden state {@code [B, Q + L, H]} over the image states and the instruction. */
  public NDArray qformerStates(NDArray imageStates, NDArray qformerIds, NDArray qformerMask) {
    return qformer.encode(qformerEmbeddings(qformerIds), qformerMask, imageStates, config.numQueryTokens());
  }

  /** Projected query outputs {@code [B, Q, D_llm]}: the visual prefix of the language model. */
  public NDArray visualPrefix(NDArray imageStates, NDArray qformerIds, NDArray qformerMask) {
    NDArray states = qformerStates(imageStates, qformerIds, qformerMask);
    NDArray queries = states.get(new NDIndex(":, :" + config.numQueryTokens()));
    return languageProjection.forward(queries);
  }

  /** Applies the language projection to query outputs {@code [B, Q, H]}. */
  public NDArray project(NDArray queryOutput) {
    return languageProjection.forward(queryOutput);
  }

  /**
   * {@code [visualPrefix; embed(promptIds)]}: the language model's input embeddings, queries first
   * (LAVIS concatenates; current HF scatters them into {@code <image>} placeholders, same result).
   */
  public NDArray languageModelInputs(NDArray visualPrefix, NDArray promptIds) {
    return visualPrefix.concat(languageModel.embed(promptIds), 1);
  }

  /** The attention mask over {@code [queries; prompt]}: ones for the queries, then {@code promptMask}. */
  public NDArray languageModelMask(NDArray promptMask) {
    long batch = promptMask.getShape().get(0);
    NDArray ones = promptMask.getManager().ones(new Shape(batch, config.numQueryTokens()), DataType.INT64);
    return ones.concat(promptMask.toType(DataType.INT64, false), 1);
  }

  /**
   * Generates answers after {@code [visualPrefix; prompt]}, one row per prompt.
   *
   * @param promptIds {@code [B, L]}, left-padded as LAVIS pads them
   * @param promptMask {@code [B, L]}, 0 on padding
   * @param generation lengths count generated tokens only (the prompt enters as embeddings)
   * @param useKvCache false recomputes the whole sequence at every step (the reference)
   * @return the generated tokens per row (no prompt), and per-step logits when asked for
   */
  public GenerationResult generate(NDArray visualPrefix, NDArray promptIds, NDArray promptMask,
      GenerationConfig generation, boolean useKvCache, boolean recordLogits) {
    NDArray embeds = languageModelInputs(visualPrefix, promptIds);
    NDArray mask = languageModelMask(promptMask);
    try (LlamaPrefixDecoder session = new LlamaPrefixDecoder(languageModel, embeds, mask, useKvCache)) {
      return SequenceGenerator.generate(session, new long[(int) embeds.getShape().get(0)][0], generation, recordLogits);
    } finally {
      embeds.close();
      mask.close();
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}
