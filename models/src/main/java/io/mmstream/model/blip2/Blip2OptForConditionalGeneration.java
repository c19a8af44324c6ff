package io.mmstream.model.blip2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.opt.OptConfig;
import io.mmstream.model.opt.OptForCausalLM;
import io.mmstream.model.tensor.CheckpointWeightStore;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.OptionalLong;

/**
 * BLIP-2 with an OPT language model (HF {@code Blip2ForConditionalGeneration}, LAVIS {@code Blip2OPT}): image →
 * {@link Blip2QueryEncoder} → {@code language_projection} → OPT over {@code [projected queries; </s> prompt]}.
 */
public final class Blip2OptForConditionalGeneration implements AutoCloseable {
  /** Standard deviation of random preset weights (the models' initializer range). */
  private static final float RANDOM_STD = 0.02f;

  private final Blip2Config config;
  private final OptConfig text;
  private final WeightStore store;
  private final Blip2QueryEncoder encoder;
  private final Linear languageProjection;
  private final OptForCausalLM languageModel;

  private Blip2OptForConditionalGeneration(Blip2Config config, OptConfig text, WeightStore store) {
    this.config = config;
    this.text = text;
    this.store = store;
    Weights w = new Weights(store);
    this.encoder = Blip2QueryEncoder.load(w, config);
    if (text.wordEmbedProjDim() != text.hiddenSize()) {
      // The projected queries are concatenated with embed_tokens' output, which has word_embed_proj_dim columns.
      throw new IllegalArgumentException("BLIP-2 needs OPT word_embed_proj_dim == hidden_size");
    }
    this.languageProjection = Linear.load(w.sub("language_projection"), config.qformer().hiddenSize(),
        text.hiddenSize(), true);
    this.languageModel = OptForCausalLM.load(w.sub("language_model"), text);
    store.requireAllUsed(Blip2Checkpoint.IGNORABLE_KEYS);
  }

  public static Blip2OptForConditionalGeneration load(Path modelDirectory, NDManager manager) throws IOException {
    Blip2Config config = Blip2Config.load(modelDirectory);
    OptConfig text = OptConfig.fromJson(config.textConfig());
    return fromStore(config, text, Blip2Checkpoint.open(modelDirectory, manager, OptionalLong.empty()));
  }

  /** A model of the given shapes with random weights (benchmarks). */
  public static Blip2OptForConditionalGeneration random(
      Blip2Config config, OptConfig text, NDManager manager, DataType type, long seed) {
    return fromStore(config, text, new RandomWeightStore(manager, type, seed, RANDOM_STD));
  }

  private static Blip2OptForConditionalGeneration fromStore(Blip2Config config, OptConfig text, WeightStore store) {
    return WeightStore.buildOrClose(store, built -> new Blip2OptForConditionalGeneration(config, text, built));
  }

  public Blip2Config config() {
    return config;
  }

  public OptConfig textConfig() {
    return text;
  }

  public Blip2QueryEncoder encoder() {
    return encoder;
  }

  public OptForCausalLM languageModel() {
    return languageModel;
  }

  /** Projected query outputs {@code [B, Q, D]} of image states: the visual prefix of the language model. */
  public NDArray visualPrefix(NDArray imageStates) {
    return languageProjection.forward(encoder.queryOutput(imageStates));
  }

  /** {@code [visualPrefix; embed_tokens(promptIds)]}: queries first, as LAVIS concatenates them. */
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
   * Generates after {@code [visualPrefix; prompt]}, one row per prompt; lengths count generated tokens only (the
   * prompt enters as embeddings, as in transformers' generation from {@code inputs_embeds}).
   */
  public GenerationResult generate(NDArray visualPrefix, NDArray promptIds, NDArray promptMask,
      GenerationConfig generation, boolean recordLogits) {
    NDArray embeds = languageModelInputs(visualPrefix, promptIds);
    NDArray mask = languageModelMask(promptMask);
    try (OptDecoderSession session = new OptDecoderSession(languageModel, embeds, mask)) {
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
