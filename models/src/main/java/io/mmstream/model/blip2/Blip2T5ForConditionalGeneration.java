package io.mmstream.model.blip2;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import io.mmstream.model.generation.GenerationConfig;
import io.mmstream.model.generation.GenerationResult;
import io.mmstream.model.generation.SequenceGenerator;
import io.mmstream.model.nn.Linear;
import io.mmstream.model.t5.T5Config;
import io.mmstream.model.t5.T5DecoderSession;
import io.mmstream.model.t5.T5ForConditionalGeneration;
import io.mmstream.model.tensor.RandomWeightStore;
import io.mmstream.model.tensor.WeightStore;
import io.mmstream.model.tensor.Weights;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.OptionalLong;

/**
 * BLIP-2 / InstructBLIP with a Flan-T5 language model (LAVIS {@code Blip2T5}, {@code Blip2T5Instruct}): image →
 * {@link Blip2QueryEncoder} (with the instruction for InstructBLIP) → {@code language_projection} → T5 encoder over
 * {@code [projected queries; prompt </s>]} → T5 decoder from {@code decoder_start_token_id}.
 */
public final class Blip2T5ForConditionalGeneration implements AutoCloseable {
  /** Standard deviation of random preset weights (the models' initializer range). */
  private static final float RANDOM_STD = 0.02f;

  private final Blip2Config config;
  private final T5Config text;
  private final WeightStore store;
  private final Blip2QueryEncoder encoder;
  private final Linear languageProjection;
  private final T5ForConditionalGeneration languageModel;

  private Blip2T5ForConditionalGeneration(Blip2Config config, T5Config text, WeightStore store) {
    this.config = config;
    this.text = text;
    this.store = store;
    Weights w = new Weights(store);
    this.encoder = Blip2QueryEncoder.load(w, config);
    this.languageProjection = Linear.load(w.sub("language_projection"), config.qformer().hiddenSize(), text.dModel(),
        true);
    this.languageModel = T5ForConditionalGeneration.load(w.sub("language_model"), text);
    store.requireAllUsed(Blip2Checkpoint.IGNORABLE_KEYS);
  }

  public static Blip2T5ForConditionalGeneration load(Path modelDirectory, NDManager manager) throws IOException {
    Blip2Config config = Blip2Config.load(modelDirectory);
    T5Config text = T5Config.fromJson(config.textConfig());
    return fromStore(config, text, Blip2Checkpoint.open(modelDirectory, manager, OptionalLong.empty()));
  }

  /** A model of the given shapes with random weights (benchmarks). */
  public static Blip2T5ForConditionalGeneration random(
      Blip2Config config, T5Config text, NDManager manager, DataType type, long seed) {
    return fromStore(config, text, new RandomWeightStore(manager, type, seed, RANDOM_STD));
  }

  private static Blip2T5ForConditionalGeneration fromStore(Blip2Config config, T5Config text, WeightStore store) {
    return WeightStore.buildOrClose(store, built -> new Blip2T5ForConditionalGeneration(config, text, built));
  }

  public Blip2Config config() {
    return config;
  }

  public T5Config textConfig() {
    return text;
  }

  public Blip2QueryEncoder encoder() {
    return encoder;
  }

  public T5ForConditionalGeneration languageModel() {
    return languageModel;
  }

  /** Projects query outputs {@code [B, Q, H]} to the T5 width: the visual prefix of the encoder input. */
  public NDArray project(NDArray queryOutput) {
    return languageProjection.forward(queryOutput);
  }

  /** {@code [visualPrefix; shared(promptIds)]}: queries first, no embedding scaling. */
  public NDArray encoderInputs(NDArray visualPrefix, NDArray promptIds) {
    return visualPrefix.concat(languageModel.embed(promptIds), 1);
  }

  /** The encoder mask over {@code [queries; prompt]}: ones for the queries, then {@code promptMask}. */
  public NDArray encoderMask(NDArray promptMask) {
    long batch = promptMask.getShape().get(0);
    NDArray ones = promptMask.getManager().ones(new Shape(batch, config.numQueryTokens()), DataType.INT64);
    return ones.concat(promptMask.toType(DataType.INT64, false), 1);
  }

  /**
   * Generates after the T5 encoder read {@code [visualPrefix; prompt]}; the returned sequences start with the decoder
   * start id, and {@code generation}'s lengths count it (transformers' encoder-decoder convention).
   */
  public GenerationResult generate(NDArray visualPrefix, NDArray promptIds, NDArray promptMask,
      GenerationConfig generation, boolean recordLogits) {
    NDArray mask = encoderMask(promptMask);
    NDArray encoded = languageModel.encode(encoderInputs(visualPrefix, promptIds), mask);
    long[][] starts = new long[(int) encoded.getShape().get(0)][];
    Arrays.setAll(starts, i -> new long[] {text.decoderStartTokenId()});
    try (T5DecoderSession session = new T5DecoderSession(languageModel, encoded, mask)) {
      return SequenceGenerator.generate(session, starts, generation, recordLogits);
    } finally {
      encoded.close();
      mask.close();
    }
  }

  @Override
  public void close() throws IOException {
    store.close();
  }
}
